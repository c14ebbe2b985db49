"""``weibao agent``: inspect this server and push to the desk (or print one inspection)."""

from __future__ import annotations

import json
import signal
import socket
import threading
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("agent")(agent)


def agent(
    desk: str = typer.Option("", "--desk", help="Desk URL, e.g. https://desk.example:8080"),
    token_file: Path = typer.Option(None, "--token-file", help="File holding the agent token"),
    device: str = typer.Option(
        "", "--device", help="Inventory device name (default: this host's name)"
    ),
    interval: float = typer.Option(60.0, "--interval", min=5, help="Seconds between inspections"),
    spool_dir: Path = typer.Option(
        Path("/var/lib/weibao-agent/spool"), "--spool", help="Where to keep unsent observations"
    ),
    ca_file: Path = typer.Option(None, "--ca-file", help="Private CA bundle for the desk's TLS"),
    once: bool = typer.Option(False, "--once", help="Inspect once and exit"),
    as_json: bool = typer.Option(False, "--json", help="With --once: print the observation"),
) -> None:
    """Inspect this server on an interval and push observations to the desk."""
    from agent.inspect import inspect_host
    from agent.push import PushClient, read_token
    from agent.runner import AgentRunner
    from agent.spool import Spool
    from weibao.clock import SystemClock
    from weibao.errors import WeibaoError
    from weibao.logs import setup_logging

    clock = SystemClock()
    name = device or socket.gethostname()
    if once and as_json:
        observation = inspect_host(name, clock.now())
        typer.echo(json.dumps(observation.model_dump(mode="json"), indent=2))
        return
    if not desk or token_file is None:
        typer.echo("weibao agent: --desk and --token-file are required to push", err=True)
        raise typer.Exit(2)
    setup_logging()
    try:
        token = read_token(token_file)
    except WeibaoError as exc:
        typer.echo(f"weibao agent: {exc}", err=True)
        raise typer.Exit(2) from None
    verify: bool | str = str(ca_file) if ca_file else True
    with PushClient(desk, token, verify=verify) as client:
        runner = AgentRunner(
            lambda: inspect_host(name, clock.now()), client, Spool(spool_dir), clock
        )
        if once:
            runner.run_once()
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        runner.run_forever(interval, stop)
