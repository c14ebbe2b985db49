"""Entry point of the ``weibao`` command.

Each sub-command lives in its own module with a ``register(app)`` function; heavy
imports happen inside the commands so ``weibao --help`` stays fast.
"""

from __future__ import annotations

import typer

from weibao import __version__
from weibao.cli import (
    agent_cmd,
    check,
    collector_cmd,
    inspect_cmd,
    lab_cmd,
    parts_cmd,
    probe_cmd,
    report_cmd,
    rules_cmd,
    serve,
    ticket_cmd,
    token,
    topology_cmd,
    user_cmd,
)

app = typer.Typer(
    name="weibao",
    help="Monitoring and auto-ticketing for IT maintenance-service contracts (维保).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"weibao {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """weibao: inventory, inspection, rules, tickets with SLA clocks."""


for module in (
    check,
    serve,
    token,
    rules_cmd,
    agent_cmd,
    inspect_cmd,
    probe_cmd,
    collector_cmd,
    topology_cmd,
    lab_cmd,
    ticket_cmd,
    parts_cmd,
    report_cmd,
    user_cmd,
):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
