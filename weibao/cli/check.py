"""``weibao check``: validate the inventory (and the rules) and say what to fix, with lines.

Prints every problem as ``FILE:LINE: field.path: message`` with an indented hint, then
one summary line per file. Exit status 2 when anything is an error, 0 otherwise
(warnings alone do not fail). Heavy imports wait inside the command so that
``weibao --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from weibao.errors import Problem
    from weibao.inventory.model import Inventory

EXIT_PROBLEMS = 2

Echo = Callable[[str], None]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("check")(check)


def check(
    inventory: Path = typer.Option(
        Path("inventory.yaml"), "-i", "--inventory", help="The inventory file to check."
    ),
    rules: Path | None = typer.Option(
        None, "-r", "--rules", help="A rules directory to check as well."
    ),
) -> None:
    """Validate the inventory (and rules): every problem with file, line and a hint."""
    raise typer.Exit(run_check(inventory, rules, typer.echo))


def run_check(inventory: Path, rules: Path | None, echo: Echo) -> int:
    """Check the files, print the report through ``echo``, and return the exit status."""
    from weibao.inventory.loader import check_inventory

    inv, problems = check_inventory(inventory)
    _print(problems, echo)
    echo(_inventory_summary(inventory, inv, problems))
    failed = _errors(problems) > 0
    if rules is not None:
        rule_problems = check_rules(rules, inv)
        _print(rule_problems, echo)
        echo(_summary(str(rules), rule_problems, "OK"))
        failed = failed or _errors(rule_problems) > 0
    return EXIT_PROBLEMS if failed else 0


def check_rules(directory: Path, inventory: Inventory | None) -> list[Problem]:
    """Load the rules as the desk would; their ConfigError becomes our problems.

    The inventory is passed when the engine accepts it, so rules that name devices or
    tags can be checked against it.
    """
    import inspect

    from weibao.errors import ConfigError, Problem

    if not directory.is_dir():
        hint = "pass -r with the rules directory (the repository has rules/)"
        return [Problem(str(directory), None, "", "rules directory not found", hint)]
    import rules as rule_pkg

    kwargs: dict[str, Any] = {}
    params = inspect.signature(rule_pkg.load_engine).parameters
    if "inventory" in params:
        if inventory is None and params["inventory"].default is inspect.Parameter.empty:
            note = "rules not checked: they need a valid inventory"
            return [Problem(str(directory), None, "", note, "fix the inventory first")]
        if inventory is not None:
            kwargs["inventory"] = inventory
    try:
        rule_pkg.load_engine(directory, **kwargs)
    except ConfigError as exc:
        return list(exc.problems)
    except Exception as exc:  # reported, not swallowed: the check fails
        # A bug in the rule loader must still end as a report and exit 2, not a traceback.
        message = f"the rules could not be loaded: {type(exc).__name__}: {exc}"
        hint = "this is a bug in weibao's rule loader, not in your files: please report it"
        return [Problem(str(directory), None, "", message, hint)]
    return []


def _print(problems: list[Problem], echo: Echo) -> None:
    for problem in problems:
        echo(problem.format())


def _errors(problems: list[Problem]) -> int:
    return sum(1 for p in problems if p.severity == "error")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _summary(file: str, problems: list[Problem], ok: str) -> str:
    errors = _errors(problems)
    warnings = len(problems) - errors
    if errors:
        tail = _count(errors, "error")
        return f"{file}: {tail}, {_count(warnings, 'warning')}" if warnings else f"{file}: {tail}"
    return f"{file}: {ok}, {_count(warnings, 'warning')}" if warnings else f"{file}: {ok}"


def _inventory_summary(path: Path, inv: Inventory | None, problems: list[Problem]) -> str:
    if inv is None:
        return _summary(str(path), problems, "OK")
    contracts = [co for cu in inv.customers for co in cu.contracts]
    what = ", ".join(
        [
            _count(len(inv.contexts()), "device"),
            _count(len(inv.customers), "customer"),
            _count(len(contracts), "contract"),
        ]
    )
    return _summary(str(path), problems, f"{what}: OK")
