"""``weibao agent``: inspect this server, push to the desk, serve ``/metrics``.

The options are defined once, in :mod:`agent.cli`, which the systemd unit also runs
directly as ``python -m agent`` (without loading every ``weibao`` sub-command); this
command hands them over untouched, ``--help`` included.
"""

from __future__ import annotations

import typer

PASS_THROUGH = {
    "allow_extra_args": True,
    "ignore_unknown_options": True,
    "help_option_names": [],
}


def register(app: typer.Typer) -> None:
    app.command("agent", context_settings=PASS_THROUGH, add_help_option=False)(agent)


def agent(ctx: typer.Context) -> None:
    """Inspect this server, push observations to the desk, serve /metrics (see --help)."""
    from agent.cli import main

    code = main(list(ctx.args), prog="weibao agent")
    if code:
        raise typer.Exit(code)
