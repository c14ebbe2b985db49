"""``weibao inspect``: inspect devices of the inventory now and print what was observed.

Also holds what the collector commands share: the drivers (SNMP always, SSH when its
package is present), loading the inventory with its problems printed, and the Rich
rendering of an observation. Heavy imports wait inside functions so that
``weibao --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from collector.driver import Driver, InspectionResult
    from weibao.inventory.model import DeviceContext, Inventory
    from weibao.observation import Observation

EXIT_FAILED = 1
EXIT_CONFIG = 2
PROGRESS_ABOVE = 3  # devices; below that a bar only flickers


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("inspect")(inspect)


def inspect(
    inventory: Path = typer.Option(..., "-i", "--inventory", help="The inventory file."),
    devices: list[str] | None = typer.Argument(None, help="Device names (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of observations."),
    full: bool = typer.Option(False, "--full", help="A full inspection, not a health check."),
    concurrency: int = typer.Option(32, min=1, max=1024, help="Inspections at once, overall."),
) -> None:
    """Inspect devices now and print the observations; exit 1 if any inspection failed."""
    from collector.driver import Depth
    from collector.runner import plan_jobs

    inv = load_or_exit(inventory)
    contexts = choose_devices(inv, devices or [])
    known = available_driver_names()
    jobs = plan_jobs(contexts, known)
    covered = {job.device for job in jobs}
    for ctx in contexts:
        if devices and ctx.device.name not in covered:
            methods = ", ".join(ctx.device.inspect.methods) or "none"
            fail(
                f"device {ctx.device.name} has no inspection the collector can run "
                f"(methods: {methods}; collector drivers: {', '.join(known)})",
                EXIT_CONFIG,
            )
    depth = Depth.full if full else Depth.health
    results = asyncio.run(_inspect(contexts, depth, concurrency, show_progress=not as_json))
    if as_json:
        typer.echo(json.dumps([r.observation.model_dump(mode="json") for r in results], indent=2))
    else:
        console = stdout_console()
        for result in results:
            render_observation(console, result.observation, result.driver)
        failed = sum(r.failed for r in results)
        console.print(f"{len(results)} inspected, {failed} failed")
    if any(r.failed for r in results):
        raise typer.Exit(EXIT_FAILED)


async def _inspect(
    contexts: Sequence[DeviceContext], depth: Any, concurrency: int, show_progress: bool
) -> list[InspectionResult]:
    from rich.console import Console
    from rich.progress import Progress

    from collector.runner import inspect_now, plan_jobs
    from weibao.clock import SystemClock

    drivers = make_drivers()
    try:
        jobs = plan_jobs(contexts, drivers)
        err = Console(stderr=True)
        if not (show_progress and err.is_terminal and len(jobs) > PROGRESS_ABOVE):
            return await inspect_now(jobs, drivers, SystemClock(), depth, concurrency)
        with Progress(console=err, transient=True) as progress:
            bar = progress.add_task("inspecting", total=len(jobs))
            return await inspect_now(
                jobs,
                drivers,
                SystemClock(),
                depth,
                concurrency,
                on_done=lambda _: progress.advance(bar),
            )
    finally:
        close_drivers(drivers)


def available_driver_names() -> list[str]:
    return ["snmp", "ssh"]


def make_drivers() -> dict[str, Driver]:
    """One driver of each kind for this event loop (pysnmp engines bind to the loop)."""
    from collector.driver import DriverRegistry
    from collector.snmp.driver import SnmpDriver
    from collector.ssh.driver import SshDriver

    registry = DriverRegistry()
    registry.register("snmp", SnmpDriver)
    registry.register("ssh", SshDriver)
    return {name: registry.create(name) for name in registry.names()}


def close_drivers(drivers: dict[str, Driver]) -> None:
    for driver in drivers.values():
        close = getattr(driver, "close", None)
        if callable(close):
            close()


def load_or_exit(path: Path) -> Inventory:
    """The inventory, or every problem on stderr and exit 2 (as ``weibao check`` prints)."""
    from weibao.errors import ConfigError
    from weibao.inventory.loader import load_inventory

    try:
        return load_inventory(path)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem.format(), err=True)
        raise typer.Exit(EXIT_CONFIG) from None


def choose_devices(inv: Inventory, names: Sequence[str]) -> list[DeviceContext]:
    """The named devices in the order given (all when none), or exit 2 with did-you-mean."""
    index = inv.device_index()
    if not names:
        return list(index.values())
    unknown = [n for n in names if n not in index]
    if unknown:
        lines = []
        for name in unknown:
            close = difflib.get_close_matches(name, index, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            lines.append(f"no device named {name!r} in the inventory{hint}")
        fail("\n".join(lines), EXIT_CONFIG)
    return [index[n] for n in dict.fromkeys(names)]


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def stdout_console() -> Console:
    from rich.console import Console

    # Not a terminal (a pipe, a test): no colour codes, and no wrapping at 80 columns.
    return Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 200)


IDENTITY = (
    "vendor",
    "vendor_evidence",
    "model",
    "kind",
    "kind_evidence",
    "kind_unsure",
    "kind_mismatch",
    "profile",
    "profile_reason",
    "sys_name",
    "security",
    "weak",
)


def render_observation(console: Console, obs: Observation, driver: str) -> None:
    """One table: up or the error, identity, unlabelled samples; labelled ones counted."""
    from rich.table import Table

    from weibao.numbers import format_value

    up = obs.value("up")
    state = "[green]up[/]" if obs.ok else f"[red]FAILED[/] ({obs.meta.get('error_kind', '?')})"
    console.print(f"[bold]{obs.device}[/] ({driver}): {state}")
    table = Table()
    table.add_column("what")
    table.add_column("value", overflow="fold")
    if not obs.ok:
        table.add_row("error", f"[red]{obs.error}[/]")
        table.add_row("up", "?" if up is None else format_value(up))
    for key in IDENTITY:
        if obs.meta.get(key):
            table.add_row(key, obs.meta[key])
    series: Counter[str] = Counter()
    for sample in obs.samples:
        if sample.labels:
            series[sample.name] += 1
        else:
            table.add_row(sample.name, format_value(sample.value))
    for name, count in sorted(series.items()):
        table.add_row(name, f"{count} series")
    console.print(table)
