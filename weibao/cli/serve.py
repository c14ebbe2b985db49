"""The ``weibao serve`` command: validate everything, migrate, then serve the desk.

Configuration is checked before anything starts: a broken inventory or rule file
prints every problem and exits 2, so a desk never runs half-configured.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weibao.errors import ConfigError, WeibaoError

if TYPE_CHECKING:
    from desk.collecting import InProcessCollector
    from desk.server import Desk
    from weibao.inventory.model import Inventory

DEFAULT_DB = "sqlite:///var/weibao.db"
DEFAULT_LISTEN = "127.0.0.1:8080"
ROUTINE_LOGGERS = ("weibao.desk.api", "weibao.desk.ingest")
"""Loggers whose routine events (an API call, a stored observation) are logged at DEBUG
and summed up once a minute (``desk.activity``) instead."""
DB_HELP = (
    "SQLAlchemy URL of the ticket store: sqlite:///PATH (relative to the current "
    "directory; its directory is created) or postgresql+psycopg://USER@HOST/DB."
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a message for the user on stderr and return the Exit to raise."""
    typer.echo(f"weibao: {message}", err=True)
    return typer.Exit(code)


def fail_config(error: ConfigError) -> typer.Exit:
    for problem in error.problems:
        typer.echo(problem.format(), err=True)
    return typer.Exit(2)


def serve(
    inventory: Path = typer.Option(
        Path("inventory.yaml"), "-i", "--inventory", help="The inventory file."
    ),
    rules_dir: Path | None = typer.Option(
        None, "-r", "--rules", help="Rules directory (default: the pack shipped with weibao)."
    ),
    db: str = typer.Option(DEFAULT_DB, "--db", envvar="WEIBAO_DB", help=DB_HELP),
    listen: str = typer.Option(
        DEFAULT_LISTEN, "--listen", help="HOST:PORT to serve on; port 0 picks a free port."
    ),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING, ERROR."),
    log_json: bool = typer.Option(False, "--log-json", help="Log one JSON object per line."),
    collect: bool = typer.Option(
        True,
        "--collect/--no-collect",
        help="Inspect the inventory's SNMP and SSH devices in this process (turn it off "
        "where `weibao collector` runs at the sites instead).",
    ),
    site: str | None = typer.Option(
        None, "--site", help="With --collect: only this site's devices (default: all)."
    ),
    concurrency: int = typer.Option(
        64, "--concurrency", min=1, max=1024, help="With --collect: inspections at once."
    ),
) -> None:
    """Run the desk: observations in, tickets with their SLA clocks out."""
    import rules
    from desk.server import DeskServer, build_desk, parse_listen
    from weibao.clock import SystemClock
    from weibao.inventory.loader import load_inventory
    from weibao.logs import log_event, setup_logging, summarize_activity

    setup_logging(log_level, as_json=log_json)
    # Alembic narrates every step; the store logs one database.migrated event instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    log = logging.getLogger("weibao.serve")
    try:
        inv = load_inventory(inventory)
        engine = rules.load_engine(rules_dir)
        host, port = parse_listen(listen)
    except ConfigError as exc:
        raise fail_config(exc) from None
    except WeibaoError as exc:
        raise fail(str(exc), 2) from None
    try:
        desk = build_desk(db, inv, engine, SystemClock())
        server = DeskServer(
            desk.app,
            host,
            port,
            on_ready=lambda url: typer.echo(f"weibao desk serving on {url} (API docs: {url}/docs)"),
        )
    except WeibaoError as exc:
        raise fail(str(exc)) from None
    log_event(
        log,
        "desk.starting",
        inventory=str(inventory),
        devices=len(inv.device_index()),
        db=desk.store.display_url,
        schema=desk.store.schema_revision(),
    )
    warn_without_channels(inv, log)
    stop_summary = summarize_activity(ROUTINE_LOGGERS)
    desk.ingestor.prepare()
    # The inventory, the rules and their views live as long as the process: keep the
    # cyclic garbage collector from walking them again and again (issue #13, item 3).
    gc.freeze()
    desk.start_background()
    collector = None
    try:
        collector = start_collector(desk, site, concurrency) if collect else None
        unwind_on_sigterm()
        server.run()
    finally:
        if collector is not None:
            collector.stop()
        desk.stop_background()
        desk.store.close()
        stop_summary()


def warn_without_channels(inventory: Inventory, log: logging.Logger) -> None:
    """One WARNING at start when no notification channel is configured: tickets still open
    and escalate, but nobody is told, and the timeline would say otherwise."""
    from weibao.logs import log_event

    if not inventory.notifications.channels:
        log_event(
            log,
            "notifications.no_channel",
            logging.WARNING,
            hint="escalations and new tickets reach nobody: add a channel under "
            "notifications: in the inventory (docs/notifications.md)",
        )


def start_collector(desk: Desk, site: str | None, concurrency: int) -> InProcessCollector:
    """The collector's schedule inside this process (``--collect``), feeding the desk's
    ingest directly; stopped by the caller when the server stops.

    Devices whose secrets are missing are reported once and left out. An unknown site
    name exits 2 with did-you-mean, as ``weibao collector --site`` does.
    """
    from desk.collecting import InProcessCollector
    from weibao.cli.collector_cmd import site_contexts

    contexts = site_contexts(desk.inventory, site)
    collector = InProcessCollector.for_desk(desk, contexts, concurrency)
    collector.start()
    return collector


def unwind_on_sigterm() -> None:
    """Let SIGTERM (systemd, make run) run the ``finally`` above: uvicorn stops on it,
    then raises it again with the default action, which would end the process before
    the collector, the background threads and the store are closed. SystemExit(0)
    unwinds through them instead: a requested stop."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("serve")(serve)
