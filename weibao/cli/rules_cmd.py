"""The ``weibao rules`` commands: run rule tests, list the rules of a directory.

``weibao rules test FILE...`` runs rule test files (or every ``*.yaml`` of a directory)
in the spirit of ``promtool test rules``: exit 0 when all pass, 1 when a test fails, 2
when a file (or the rules it tests) is invalid. ``weibao rules list`` shows each rule
with its levels, so a change of level is visible in review.
"""

from __future__ import annotations

from pathlib import Path

import typer

rules_app = typer.Typer(name="rules", help="Test and list alarm rules.", no_args_is_help=True)

RULES_DIR_HELP = "Rules directory (default: the built-in pack)."


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(rules_app)


def _test_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            files.append(path)
    return files


@rules_app.command("test")
def test(
    files: list[Path] = typer.Argument(..., help="Rule test files, or directories of them."),
    rules_dir: Path | None = typer.Option(
        None, "--rules", "-r", help="Test these rules instead of the files' own `rules:`."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list passing tests."),
) -> None:
    """Run rule tests: series of observations in, expected alarms and levels out."""
    from rules.testrun import RuleTester

    tester = RuleTester(rules_dir)
    invalid = failed = passed = 0
    for file in _test_files(files):
        result = tester.run_file(file)
        if result.invalid:
            invalid += 1
            typer.echo(f"INVALID {file}", err=True)
            for problem in result.problems:
                typer.echo("  " + problem.format().replace("\n", "\n  "), err=True)
            continue
        for case in result.cases:
            if case.ok:
                passed += 1
                if verbose:
                    typer.echo(f"  ok    {file}: {case.name}")
                continue
            failed += 1
            typer.echo(f"  FAIL  {file}: {case.name}")
            for line in case.failures:
                typer.echo(f"          {line}")
    summary = f"{passed} passed, {failed} failed"
    if invalid:
        summary += f", {invalid} invalid file(s)"
    typer.echo(summary, err=True)
    if invalid:
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(1)


@rules_app.command("list")
def list_rules(
    rules_dir: Path | None = typer.Option(None, "--rules", "-r", help=RULES_DIR_HELP),
) -> None:
    """List the rules: id, levels, the sample read, what it detects."""
    from rules import DEFAULT_PACK
    from rules.loader import read_rules

    ruleset, problems = read_rules(rules_dir or DEFAULT_PACK)
    for problem in problems:
        typer.echo(problem.format(), err=True)
    if ruleset is None:
        raise typer.Exit(2)
    rows = [
        (
            rule.id,
            "/".join(level.value for level in sorted(rule.levels, key=lambda lv: lv.rank)),
            rule.sample or ("(no data)" if rule.no_data is not None else ""),
            rule.summary,
        )
        for rule in ruleset.rules
    ]
    table = [("rule", "levels", "sample", "summary"), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        typer.echo("  ".join([*cells, row[3]]))
