"""``weibao lab``: the demo device lab of ``make run`` (start, status, fault on/off).

The lab itself lives in the top-level ``lab`` package (a simulator, not product code);
this module only wires it to the command line. See docs/lab.md.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weibao.cli.inspect_cmd import fail, stdout_console

if TYPE_CHECKING:
    from lab.fleet import Fleet

EXIT_CONFIG = 2
DEFAULT_STATE = Path("var/lab")
ENV_HINT = "export the lab's credentials first: set -a; . lab/lab.env; set +a (make run does this)"

lab_app = typer.Typer(
    help="The demo lab: simulated SNMP/SSH devices on loopback, with faults on demand.",
    no_args_is_help=True,
)

STATE_HELP = "The lab's state directory (faults switched on, boot times, the running lab)."
FLEET_HELP = "The fleet file (default: lab/fleet.yaml)."


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(lab_app, name="lab")


def _fleet(path: Path | None) -> Fleet:
    from lab import FLEET
    from lab.fleet import load_fleet
    from weibao.errors import ConfigError

    try:
        return load_fleet(path or FLEET)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem.format(), err=True)
        raise typer.Exit(EXIT_CONFIG) from None


@lab_app.command("start")
def start(
    state_dir: Path = typer.Option(DEFAULT_STATE, "--state-dir", help=STATE_HELP),
    fleet_file: Path | None = typer.Option(None, "--fleet", help=FLEET_HELP),
    host: str | None = typer.Option(
        None, "--host", help="Serve every device on this IPv4 address instead of its own."
    ),
    snmp_port: int | None = typer.Option(
        None, "--snmp-port", min=0, max=65535, help="SNMP port for every device (0: free ones)."
    ),
    ssh_port: int | None = typer.Option(
        None, "--ssh-port", min=0, max=65535, help="SSH port for every server (0: free ones)."
    ),
    net: str | None = typer.Option(
        None,
        "--net",
        envvar="WEIBAO_LAB_NET",
        help="Serve the devices in this loopback network instead (127.0.1.0/24: 127.0.0.11 "
        "becomes 127.0.1.11), beside another lab; the desk needs `weibao lab inventory "
        "--net` too.",
    ),
    notify_log: Path | None = typer.Option(
        None,
        "--notify-log",
        help="Also receive the desk's webhook notices on 127.0.0.1 and append them to this "
        "file; the URL is written to STATE_DIR/webhook.url.",
    ),
) -> None:
    """Serve the lab's devices until stopped (Ctrl-C or SIGTERM)."""
    from lab.notify_sink import NotifySink
    from lab.runner import Lab, LabError, serve
    from lab.state import LabState
    from weibao.logs import setup_logging

    setup_logging()
    network = parse_net(net)
    logging.getLogger("paramiko").setLevel(logging.WARNING)  # a line per SSH login is noise
    fleet = _fleet(fleet_file)
    missing = [str(ref) for ref in fleet.secret_refs() if ref.missing_reason() is not None]
    if missing:
        fail(f"the lab's credentials are not set ({', '.join(missing)}); {ENV_HINT}", EXIT_CONFIG)
    state = LabState(state_dir)
    running = state.running()
    if running is not None and running.pid != os.getpid():
        fail(f"a lab already runs from {state_dir} (pid {running.pid}); stop it first", 1)
    lab = Lab(fleet, state, host=host, snmp_port=snmp_port, ssh_port=ssh_port, net=network)
    url_file = state_dir / WEBHOOK_URL_FILE
    url_file.unlink(missing_ok=True)
    sink = None
    if notify_log is not None:
        try:
            sink = NotifySink(notify_log)
        except OSError as exc:
            fail(f"the notice sink cannot listen on 127.0.0.1: {exc.strerror}", 1)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if sink is not None:
            state.ensure()
            url_file.write_text(sink.start() + "\n", encoding="utf-8")
        await serve(lab, stop)

    try:
        asyncio.run(main())
    except LabError as exc:
        fail(str(exc), 1)
    finally:
        if sink is not None:
            sink.close()
            url_file.unlink(missing_ok=True)


WEBHOOK_URL_FILE = "webhook.url"


def parse_net(text: str | None) -> ipaddress.IPv4Network | None:
    """``--net``: a loopback IPv4 network of at least /24 (a /24 holds every lab address)."""
    if not text:
        return None
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        fail(f"--net {text!r} is not an IPv4 network; write e.g. 127.0.1.0/24", EXIT_CONFIG)
    if not net.is_loopback or net.prefixlen > 24:
        fail(f"--net {text!r}: give a loopback network of /24 or wider, e.g. 127.0.1.0/24", 2)
    return net


@lab_app.command("inventory")
def inventory(
    source: Path = typer.Option(Path("inventory.yaml"), "-i", "--inventory", help="The inventory."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the lab's copy."),
    net: str | None = typer.Option(
        None, "--net", envvar="WEIBAO_LAB_NET", help="The lab's network (as `lab start --net`)."
    ),
    webhook_env: str | None = typer.Option(
        None,
        "--webhook-env",
        help="Add a webhook channel whose URL is this environment variable (the notice sink), "
        "unless the inventory has a notifications: section of its own.",
    ),
    base_url: str | None = typer.Option(None, "--base-url", help="notifications.base_url."),
) -> None:
    """Write the inventory the lab's desk runs on: lab-only changes over a copy."""
    from lab.inventory import lab_inventory

    network = parse_net(net)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}", EXIT_CONFIG)
    copy = lab_inventory(text, net=network, webhook_env=webhook_env, base_url=base_url)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(copy, encoding="utf-8")
    tmp.replace(output)


@lab_app.command("status")
def status(
    state_dir: Path = typer.Option(DEFAULT_STATE, "--state-dir", help=STATE_HELP),
    fleet_file: Path | None = typer.Option(None, "--fleet", help=FLEET_HELP),
) -> None:
    """Whether the lab runs, its devices' addresses, and which faults are on."""
    from rich.table import Table

    from lab.state import LabState, StateError

    fleet = _fleet(fleet_file)
    state = LabState(state_dir)
    try:
        on = state.faults()
        running = state.running()
    except StateError as exc:
        fail(str(exc), 1)
    console = stdout_console()
    if running is None:
        console.print(f"the lab is not running (state in {state_dir}); start it with `make run`")
    else:
        console.print(f"the lab runs (pid {running.pid}, since {running.started})")
        table = Table("device", "protocol", "address")
        for e in running.endpoints:
            table.add_row(e.device, e.protocol, e.address)
        console.print(table)
        url_file = state_dir / WEBHOOK_URL_FILE
        if url_file.exists():
            console.print(f"notices: {url_file.read_text(encoding='utf-8').strip()}")
    faults = Table("fault", "state", "what happens")
    for name, fault in fleet.faults.items():
        faults.add_row(name, f"[red]on[/] since {on[name]}" if name in on else "off", fault.summary)
    console.print(faults)


@lab_app.command("fault")
def fault(
    name: str = typer.Argument(..., help="A fault of the fleet (see `weibao lab status`), or all."),
    switch: str = typer.Argument(..., help="on or off"),
    state_dir: Path = typer.Option(DEFAULT_STATE, "--state-dir", help=STATE_HELP),
    fleet_file: Path | None = typer.Option(None, "--fleet", help=FLEET_HELP),
) -> None:
    """Switch a scripted fault on or off; the running lab applies it within a second."""
    from lab.state import LabState, StateError

    if switch not in ("on", "off"):
        fail(f"say on or off, not {switch!r}", EXIT_CONFIG)
    fleet = _fleet(fleet_file)
    state = LabState(state_dir)
    try:
        if name == "all":
            if switch == "on":
                fail("switch faults on one at a time; `all` only goes with off", EXIT_CONFIG)
            cleared = state.clear_faults()
            typer.echo(f"faults off: {', '.join(cleared) or 'none were on'}")
            return
        problem = fleet.unknown_fault(name)
        if problem is not None:
            fail(problem, EXIT_CONFIG)
        changed = state.set_fault(name, switch == "on", datetime.now(UTC))
        running = state.running()
    except StateError as exc:
        fail(str(exc), 1)
    word = "was already" if not changed else "is now"
    typer.echo(f"{name} {word} {switch}: {fleet.faults[name].summary}")
    if switch == "on":
        for line in expectations(fleet, name):
            typer.echo(f"  expect: {line}")
    if running is None:
        typer.echo(
            f"note: the lab is not running from {state_dir}; it applies faults when it starts"
        )


def expectations(fleet: Fleet, name: str) -> list[str]:
    """What the rule pack will make of the fault, with how long its rule waits."""
    import rules

    by_id = {rule.id: rule for rule in rules.load_engine().rules}
    lines = []
    for expect in fleet.faults[name].expect:
        rule = by_id.get(expect.rule)
        wait = ""
        if rule is not None and rule.for_seconds:
            wait = f", once it has lasted {_minutes(rule.for_seconds)} (the rule's `for:`)"
        lines.append(
            f"a level {expect.level.value} ticket for {expect.device} ({expect.rule}) at the "
            f"next inspection{wait}"
        )
    return lines


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
