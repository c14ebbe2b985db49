"""``weibao topology suggest``: propose ``depends_on`` from what devices say of their neighbours.

The SNMP devices are inspected now, fully (the ``neighbors`` reader runs on full
inspections only), exactly as ``weibao inspect --full`` would; their LLDP/CDP
neighbours go to :mod:`collector.topology`. The inventory is never edited: the command
prints what is declared, what is new and what contradicts it, and a YAML snippet per
device, located by file and line, for a person to paste.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from weibao.cli.inspect_cmd import (
    EXIT_CONFIG,
    EXIT_FAILED,
    PROGRESS_ABOVE,
    choose_devices,
    close_drivers,
    fail,
    load_or_exit,
    stdout_console,
)

if TYPE_CHECKING:
    from rich.console import Console

    from collector.driver import InspectionResult
    from collector.topology import Link, Suggestion, Topology, Unmatched
    from weibao.inventory.model import DeviceContext

topology_app = typer.Typer(help="What the network says about the inventory.", no_args_is_help=True)

STATUS_STYLE = {
    "new": "green",
    "declared": "dim",
    "differs": "yellow",
    "contradicts": "red",
    "unconfirmed": "dim",
}


def register(app: typer.Typer) -> None:
    """Add ``weibao topology`` (``suggest``)."""
    app.add_typer(topology_app, name="topology")


@topology_app.command("suggest")
def suggest(
    inventory: Path = typer.Option(..., "-i", "--inventory", help="The inventory file."),
    devices: list[str] | None = typer.Argument(
        None, help="SNMP devices to read neighbours from (default: all SNMP devices)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    concurrency: int = typer.Option(32, min=1, max=1024, help="Inspections at once, overall."),
) -> None:
    """Suggest depends_on from LLDP/CDP neighbours; exit 1 if a device could not be inspected."""
    from collector.topology import Observed
    from collector.topology import suggest as suggest_topology

    inv = load_or_exit(inventory)
    chosen = choose_devices(inv, devices or [])
    snmp = [c for c in chosen if c.device.inspect.snmp is not None]
    if devices:
        for ctx in chosen:
            if ctx.device.inspect.snmp is None:
                fail(
                    f"device {ctx.device.name} is not inspected over SNMP, and neighbours "
                    "(LLDP, CDP) are read over SNMP; name switches, routers or firewalls",
                    EXIT_CONFIG,
                )
    if not snmp:
        fail(f"no device in {inventory} is inspected over SNMP: nothing to ask", EXIT_CONFIG)
    results = asyncio.run(_inspect(snmp, concurrency, show_progress=not as_json))
    observed = [Observed.from_meta(r.device, r.observation.meta) for r in results if not r.failed]
    topology = suggest_topology(inv.contexts(), observed)
    locations = device_locations(inventory)
    snippet = yaml_snippet(topology.suggestions, locations)
    if as_json:
        body = report(results, topology, locations, snippet)
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        render(stdout_console(), results, topology, snippet)
    if any(r.failed for r in results):
        raise typer.Exit(EXIT_FAILED)


async def _inspect(
    contexts: Sequence[DeviceContext], concurrency: int, show_progress: bool
) -> list[InspectionResult]:
    """Full SNMP inspections, the way ``weibao inspect --full`` runs them."""
    from rich.console import Console
    from rich.progress import Progress

    from collector.driver import Depth
    from collector.runner import inspect_now, plan_jobs
    from collector.snmp.driver import SnmpDriver
    from weibao.clock import SystemClock

    drivers: dict[str, Any] = {"snmp": SnmpDriver()}
    try:
        jobs = plan_jobs(contexts, drivers)
        err = Console(stderr=True)
        if not (show_progress and err.is_terminal and len(jobs) > PROGRESS_ABOVE):
            return await inspect_now(jobs, drivers, SystemClock(), Depth.full, concurrency)
        with Progress(console=err, transient=True) as progress:
            bar = progress.add_task("reading neighbours", total=len(jobs))
            return await inspect_now(
                jobs,
                drivers,
                SystemClock(),
                Depth.full,
                concurrency,
                on_done=lambda _: progress.advance(bar),
            )
    finally:
        close_drivers(drivers)


def device_locations(path: Path) -> dict[str, str]:
    """Device name → ``FILE:LINE: customers[..]...devices[NAME]``, where to paste."""
    from weibao.inventory.checks import iter_devices
    from weibao.inventory.loader import parse_yaml

    doc, _ = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    if doc is None:
        return {}
    out = {}
    for loc, device in iter_devices(doc.data):
        name = device.get("name")
        if isinstance(name, str):
            out[name] = f"{path}:{doc.line(loc)}: {doc.human(loc)}"
    return out


def yaml_snippet(suggestions: Sequence[Suggestion], locations: dict[str, str]) -> str:
    """One commented ``depends_on:`` line per device to change (new, differs, contradicts)."""
    import yaml

    blocks = []
    for s in suggestions:
        if not s.to_change:
            continue
        value = yaml.safe_dump(list(s.proposed), default_flow_style=True).strip()
        where = locations.get(s.device, s.device)
        was = f"was {list(s.declared)}" if s.declared else "nothing declared"
        group = "  # a redundant group" if len(s.proposed) > 1 else ""
        blocks.append(f"# {where} ({s.status.value}; {was})\ndepends_on: {value}{group}\n")
    return "\n".join(blocks)


def _link(link: Link) -> dict[str, str]:
    return {
        "device": link.device,
        "local_port": link.local_port,
        "neighbor": link.neighbor,
        "remote_port": link.remote_port,
        "protocol": link.protocol,
        "matched_by": link.matched_by,
    }


def _unmatched(u: Unmatched) -> dict[str, Any]:
    n = u.neighbor
    return {
        "device": u.device,
        "local_port": n.local_port,
        "protocol": n.protocol,
        "remote_name": n.remote_name,
        "remote_port": n.remote_port,
        "remote_chassis": n.remote_chassis,
        "remote_address": n.remote_address,
        "candidates": list(u.candidates),
    }


def report(
    results: Sequence[InspectionResult],
    topology: Topology,
    locations: dict[str, str],
    snippet: str,
) -> dict[str, Any]:
    """The whole answer as plain data (``--json``)."""
    ok = [r for r in results if not r.failed]
    return {
        "inspected": [r.device for r in ok],
        "failed": [
            {
                "device": r.device,
                "error": r.observation.error,
                "error_kind": r.observation.meta.get("error_kind", ""),
            }
            for r in results
            if r.failed
        ],
        "without_neighbors": [r.device for r in ok if "neighbors" not in r.observation.meta],
        "suggestions": [
            {
                "device": s.device,
                "status": s.status.value,
                "depends_on": list(s.proposed),
                "declared": list(s.declared),
                "seen_upstream": list(s.upstream),
                "note": s.note,
                "location": locations.get(s.device, ""),
                "evidence": [_link(link) for link in s.evidence],
            }
            for s in topology.suggestions
        ],
        "links": [_link(link) for link in topology.links],
        "undirected": [{"a": u.a, "b": u.b, "reason": u.reason} for u in topology.undirected],
        "unmatched": [_unmatched(u) for u in topology.unmatched],
        "cycles": [list(c) for c in topology.cycles],
        "yaml": snippet,
    }


def render(
    console: Console, results: Sequence[InspectionResult], topology: Topology, snippet: str
) -> None:
    from rich.markup import escape
    from rich.table import Table

    failed = [r for r in results if r.failed]
    console.print(
        f"{len(results)} SNMP device(s) inspected (full), {len(failed)} could not be inspected"
    )
    for r in failed:
        kind = r.observation.meta.get("error_kind", "error")
        console.print(f"  [red]{r.device}[/]: {escape(r.observation.error or '')} ({kind})")
    quiet = [r.device for r in results if not r.failed and "neighbors" not in r.observation.meta]
    if quiet:
        console.print(
            f"no LLDP/CDP neighbours from: {', '.join(quiet)} "
            "(LLDP off, or the SNMP view hides LLDP-MIB)"
        )
    if topology.suggestions:
        table = Table(title="depends_on")
        for column in ("device", "status", "suggested", "declared", "why", "seen on"):
            table.add_column(column, overflow="fold")
        for s in topology.suggestions:
            style = STATUS_STYLE[s.status.value]
            table.add_row(
                s.device,
                f"[{style}]{s.status.value}[/]",
                ", ".join(s.proposed) or "-",
                ", ".join(s.declared) or "-",
                escape(s.note),
                escape("; ".join(link.describe() for link in s.evidence)),
            )
        console.print(table)
    else:
        console.print("no depends_on to suggest: no neighbour matched a device of the inventory")
    for u in topology.undirected:
        console.print(f"link {u.a} - {u.b} has no direction: {escape(u.reason)}")
    if topology.unmatched:
        console.print("neighbours that are not in the inventory (or match several devices):")
        for un in topology.unmatched:
            console.print(f"  {escape(un.describe())}")
    for cycle in topology.cycles:
        loop = " -> ".join([*cycle, cycle[0]])
        console.print(f"[red]applied as suggested, depends_on would loop:[/] {loop}")
    if snippet:
        console.print("\n# To paste into the inventory (weibao never edits it):", highlight=False)
        console.print(escape(snippet), highlight=False, soft_wrap=True)
