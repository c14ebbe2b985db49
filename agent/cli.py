"""The agent's options, parsed once, for its two entry points.

``weibao agent ...`` (for people) and ``python -m agent ...`` (what the systemd unit
runs) take the same options, defined here only. The service starts the lean one: the
``weibao`` command loads typer and every sub-command, 5.8 MiB of resident memory on each
customer server for nothing (``bench/agent/README.md``).

Exit status: 0 done, 1 the desk was unreachable (``--once``), 2 bad options or files,
3 the desk refused this agent (token, role or URL).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.listen import DEFAULT_LISTEN, parse_listen
from agent.service import STATE_DIR, AgentConfig, AgentError, inspect_once, run_agent
from agent.summary import format_summary
from weibao.errors import WeibaoError
from weibao.logs import setup_logging

DESCRIPTION = """\
Inspect this server on an interval, push observations to the desk, serve /metrics.
With --desk and --token-file it pushes (spooling while the desk is away); without them
it only serves /metrics; --once without them prints one full inspection (a summary, or
every sample with --json) and sends nothing.
Exit status: 0 done, 1 desk unreachable (--once), 2 bad options or files, 3 the desk
refused this agent (token, role or URL)."""


def _at_least(minimum: float) -> Callable[[str], float]:
    def number(text: str) -> float:
        value = float(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}")
        return value

    return number


def build_parser(prog: str = "python -m agent") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add = parser.add_argument
    add("--desk", default="", metavar="URL", help="desk URL, e.g. https://desk.example:8443")
    add("--token-file", type=Path, metavar="FILE", help="file holding the agent token")
    add("--device", default="", metavar="NAME", help="inventory device name (default: hostname)")
    add(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="ADDR",
        help=f"address of /metrics, e.g. 0.0.0.0:9108, or off (default: {DEFAULT_LISTEN})",
    )
    add(
        "--interval",
        type=_at_least(5),
        default=60.0,
        metavar="S",
        help="seconds between inspections (default: 60)",
    )
    add(
        "--full-every",
        type=_at_least(60),
        default=86_400.0,
        metavar="S",
        help="seconds between full inspections with SMART and top processes (default: 86400)",
    )
    add(
        "--state-dir",
        type=Path,
        default=STATE_DIR,
        metavar="DIR",
        help=f"where the agent keeps its state (default: {STATE_DIR})",
    )
    add(
        "--spool",
        type=Path,
        metavar="DIR",
        help="where unsent observations wait (default: STATE_DIR/spool)",
    )
    add(
        "--spool-max-mb",
        type=_at_least(1),
        default=64.0,
        metavar="MB",
        help="spool size limit (default: 64)",
    )
    add(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help="private CA bundle for the desk's TLS certificate",
    )
    add("--once", action="store_true", help="inspect once and exit")
    add(
        "--json", action="store_true", help="with --once: print the inspection as JSON, do not push"
    )
    return parser


def parse_config(args: argparse.Namespace) -> AgentConfig:
    return AgentConfig(
        device=args.device,
        desk=args.desk,
        token_file=args.token_file,
        listen=parse_listen(args.listen),
        interval=float(args.interval),
        full_every=float(args.full_every),
        state_dir=args.state_dir,
        spool_dir=args.spool,
        spool_max_bytes=int(args.spool_max_mb * 1024 * 1024),
        ca_file=args.ca_file,
        once=args.once,
    )


def main(argv: Sequence[str] | None = None, prog: str = "python -m agent") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        config = parse_config(args)
        if args.once and (args.json or not args.desk):
            observation = inspect_once(config)
            print(json.dumps(observation, indent=2) if args.json else format_summary(observation))
            return 0
        setup_logging()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        run_agent(config, stop)
    except AgentError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return exc.exit_code
    except WeibaoError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    return 0
