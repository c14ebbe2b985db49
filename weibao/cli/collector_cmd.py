"""``weibao collector``: run the inspection schedule for one site (or all) and push.

Delivery is the agent's: every batch goes to the disk spool first and leaves it only
when the desk has taken it (same push protocol, same spool). The ``collector`` package
may not import ``agent``, so the wiring lives here, behind :class:`collector.sink.Sink`.
With ``--traps HOST:PORT`` the same process receives SNMP traps from the same devices
and pushes them through the same spool (:mod:`collector.traps`).
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from weibao.cli.inspect_cmd import close_drivers, fail, load_or_exit, make_drivers
from weibao.cli.probe_cmd import split_target
from weibao.logs import log_event

if TYPE_CHECKING:
    from collector.sink import Sink
    from collector.traps.catalog import Catalog
    from weibao.delivery.push import PushClient
    from weibao.delivery.spool import Spool
    from weibao.inventory.model import DeviceContext, Inventory
    from weibao.observation import Observation

log = logging.getLogger("weibao.collector")
EXIT_USAGE = 2
EXIT_REFUSED = 3  # as the agent: systemd does not restart into the same refusal
FLUSH_BUDGET = 30.0  # seconds of replay per delivery: a backlog must not pile up batches
TRAP_DRAIN = 5.0  # seconds to spool the traps still queued when stopping


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("collector")(collector)


def collector(
    desk: str = typer.Option(..., help="The desk's URL, e.g. https://desk.example.cn"),
    token_file: Path = typer.Option(..., help="File holding a token with role agent."),
    inventory: Path = typer.Option(..., "-i", "--inventory", help="The inventory file."),
    site: str | None = typer.Option(None, help="Only this site's devices (default: all)."),
    spool: Path = typer.Option(
        Path("/var/lib/weibao/collector/spool"), help="Where batches wait for the desk."
    ),
    ca_file: Path | None = typer.Option(None, help="CA certificate of a private desk."),
    concurrency: int = typer.Option(64, min=1, max=1024, help="Inspections at once, overall."),
    traps: str | None = typer.Option(
        None,
        metavar="HOST:PORT",
        help="Also receive SNMP traps here, e.g. 0.0.0.0:1162 or [::]:1162 (port 162 needs "
        "root or CAP_NET_BIND_SERVICE). Off by default.",
    ),
    trap_catalog: list[Path] = typer.Option(
        [], help="More trap catalog files or directories (see docs/collector.md, Traps)."
    ),
) -> None:
    """Inspect devices on their schedules and push the observations to the desk."""
    from weibao.delivery.push import PushClient, PushError, read_token, tls_verification
    from weibao.delivery.spool import Spool
    from weibao.errors import WeibaoError
    from weibao.logs import setup_logging

    setup_logging()
    contexts = site_contexts(load_or_exit(inventory), site)
    listen = split_target(traps, default_port=162) if traps else None
    catalog = load_trap_catalog(trap_catalog) if traps else None
    try:
        client = PushClient(desk, read_token(token_file), verify=tls_verification(ca_file))
        queue = Spool(spool)
    except (WeibaoError, OSError) as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        sink = SpoolSink(client, queue)
        asyncio.run(_run(contexts, sink, concurrency, listen, spool, catalog))
    except PushError as exc:  # only fatal ones (token or URL refused): retrying cannot help
        fail(str(exc), EXIT_REFUSED)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()


async def _run(
    contexts: Sequence[DeviceContext],
    sink: Sink,
    concurrency: int,
    traps: tuple[str, int] | None = None,
    spool: Path | None = None,
    catalog: Catalog | None = None,
) -> None:
    from collector.runner import plan_jobs
    from collector.scheduler import Scheduler
    from collector.traps.forward import SerializedSink
    from weibao.clock import SystemClock

    drivers = make_drivers()
    shared = SerializedSink(sink)  # the schedule and the traps take turns at the spool
    try:
        jobs = plan_jobs(contexts, drivers)
        log_event(log, "collector.started", devices=len(contexts), jobs=len(jobs))
        schedule = Scheduler(jobs, drivers, shared, SystemClock(), concurrency=concurrency)
        if traps is None:
            await schedule.run()
        else:
            state_file = spool.parent / "trap-state.json" if spool is not None else None
            await run_with_traps(schedule.run(), contexts, shared, traps, state_file, catalog)
    finally:
        close_drivers(drivers)


async def run_with_traps(
    schedule: Coroutine[Any, Any, None],
    contexts: Sequence[DeviceContext],
    sink: Sink,
    listen: tuple[str, int],
    state_file: Path | None,
    catalog: Catalog | None = None,
) -> None:
    """Run the schedule while a trap receiver pushes to the same sink; the first to fail
    (a desk that refuses the collector) stops both."""
    from collector.traps.forward import TrapForwarder
    from collector.traps.listener import ListenError
    from collector.traps.receiver import TrapReceiver

    forwarder = TrapForwarder(sink)
    receiver = TrapReceiver(
        contexts, forwarder.put, listen=[listen], state_file=state_file, catalog=catalog
    )
    try:
        await receiver.start()
    except ListenError as exc:
        schedule.close()
        fail(str(exc), EXIT_USAGE)
    tasks = [asyncio.ensure_future(schedule), asyncio.ensure_future(forwarder.run())]
    try:
        pending = set(tasks)
        while pending:  # a site with nothing to poll still receives its traps
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
    finally:
        await receiver.stop()
        forwarder.close()  # the traps already queued go to the spool, within a bound
        await asyncio.wait([tasks[1]], timeout=TRAP_DRAIN)
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def load_trap_catalog(paths: list[Path]) -> Catalog:
    """The built-in trap catalog and the user's files; every problem, then exit 2."""
    from collector.traps.catalog_files import check_catalog

    catalog, problems = check_catalog(paths)
    for problem in problems:
        typer.echo(problem.format(), err=True)
    if catalog is None:
        fail("the trap catalog has errors (above)", EXIT_USAGE)
    return catalog


def site_contexts(inv: Inventory, site: str | None) -> list[DeviceContext]:
    contexts = inv.contexts()
    if site is None:
        return contexts
    chosen = [c for c in contexts if c.site.name == site]
    if not chosen:
        names = sorted({c.site.name for c in contexts})
        close = difflib.get_close_matches(site, names, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"sites: {', '.join(names)}"
        fail(f"no site named {site!r} with devices in the inventory ({hint})", EXIT_USAGE)
    return chosen


class SpoolSink:
    """Spool, then replay oldest first; the blocking I/O runs in a thread."""

    def __init__(self, client: PushClient, spool: Spool) -> None:
        self.client = client
        self.spool = spool
        self.desk_away: str | None = None

    async def deliver(self, observations: Sequence[Observation]) -> None:
        await asyncio.to_thread(self.deliver_now, list(observations))

    def deliver_now(self, batch: list[Observation]) -> None:
        """Raises PushError only when the desk refuses the collector itself (fatal)."""
        import time

        from weibao.delivery.push import Failure, PushError

        self.spool.put(batch)
        deadline = time.monotonic() + FLUSH_BUDGET
        for path, pending in self.spool.pending():
            if time.monotonic() > deadline:
                return
            try:
                self.client.push(pending)
            except PushError as exc:
                if exc.kind is Failure.retry:
                    if self.desk_away is None:
                        log_event(
                            log, "collector.desk_unreachable", logging.WARNING, error=str(exc)
                        )
                    self.desk_away = str(exc)
                    return
                if exc.kind is Failure.rejected:
                    log.error(
                        "collector.batch_rejected kept=%s", self.spool.set_aside(path, str(exc))
                    )
                    continue
                raise
            self.spool.done(path)
        if self.desk_away is not None:
            log_event(log, "collector.desk_back", url=self.client.url)
            self.desk_away = None
