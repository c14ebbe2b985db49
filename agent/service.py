"""The agent as a service: the readers, the inspector, the spool, the push client and
``/metrics`` put together from one :class:`AgentConfig`.

The ``weibao agent`` command parses options into a config, installs the signal handlers
and calls :func:`run_agent`; everything it may refuse is an :class:`AgentError` whose
``exit_code`` the command returns (3, "the desk refused this agent", tells systemd not
to restart it: retrying a wrong token only fills the journal).

prometheus_client is imported only when ``/metrics`` is served and httpx only when the
agent pushes: each costs resident memory on every customer server
(``bench/agent/README.md``), and ``--once`` without a desk needs neither.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.facts import read_facts
from agent.host import Host
from agent.identity import BootMemory, Identity, read_identity
from agent.inspect import Inspector
from agent.stats import AgentStats
from weibao.clock import SystemClock
from weibao.delivery.spool import MiB, Spool
from weibao.delivery.wire import WireObservation
from weibao.errors import WeibaoError
from weibao.logs import log_event

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = logging.getLogger("weibao.agent")
STATE_DIR = Path("/var/lib/weibao-agent")
PRIME_SECONDS = 1.0
DAY = 86_400.0


class AgentError(WeibaoError):
    """The agent cannot go on; ``exit_code`` is what the command returns."""

    exit_code = 2


class DeskRefused(AgentError):
    exit_code = 3


class DeskUnreachable(AgentError):
    exit_code = 1


@dataclass(frozen=True)
class AgentConfig:
    device: str = ""
    desk: str = ""
    token_file: Path | None = None
    listen: tuple[str, int] | None = ("127.0.0.1", 9108)
    interval: float = 60.0
    full_every: float = DAY
    state_dir: Path = STATE_DIR
    spool_dir: Path | None = None
    spool_max_bytes: int = 64 * MiB
    ca_file: Path | None = None
    once: bool = False

    def check(self) -> None:
        if bool(self.desk) != (self.token_file is not None):
            raise AgentError("--desk and --token-file go together: give both to push, or neither")
        if not self.desk and (self.once or self.listen is None):
            raise AgentError(
                "nothing to do: give --desk and --token-file to push, --listen to serve "
                "/metrics, or --once to print one inspection"
            )


def make_inspector(config: AgentConfig, host: Host, remember_boot: bool = True) -> Inspector:
    def identity() -> Identity:
        return read_identity(host.proc, host.sysfs, state_dir=config.state_dir)

    def facts() -> dict[str, str]:
        return read_facts(host.system.cpu_count, lambda: host.system.memory().total_bytes)

    device = config.device or identity().hostname
    memory = BootMemory(config.state_dir / "boot_id") if remember_boot else None
    return Inspector(device, host, SystemClock(), identity, boot_memory=memory, facts=facts)


def inspect_once(config: AgentConfig, host: Host | None = None) -> WireObservation:
    """One full inspection, for ``--once`` without a desk: nothing is written or sent."""
    inspector = make_inspector(config, host or Host.local(), remember_boot=False)
    inspector.prime()
    time.sleep(PRIME_SECONDS)  # CPU shares and rates need two snapshots
    return inspector.inspect(full=True)


def run_agent(
    config: AgentConfig,
    stop: threading.Event,
    host: Host | None = None,
    on_listening: Callable[[str, int], None] | None = None,
) -> None:
    """Run until ``stop`` is set (or once, with ``config.once``)."""
    config.check()
    host = host or Host.local(probe_ttl=max(5.0, config.interval / 2))
    inspector = make_inspector(config, host)
    spool = _open_spool(config) if config.desk else None
    stats = AgentStats(spool=spool)
    server = _serve(host, stats, config.listen, on_listening)
    try:
        if spool is None:
            stop.wait()
        else:
            _push(config, inspector, spool, stats, stop)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def _open_spool(config: AgentConfig) -> Spool:
    directory = config.spool_dir or config.state_dir / "spool"
    try:
        return Spool(directory, max_bytes=config.spool_max_bytes)
    except OSError as exc:
        raise AgentError(f"cannot use the spool directory {directory}: {exc.strerror}") from None


def _serve(
    host: Host,
    stats: AgentStats,
    listen: tuple[str, int] | None,
    on_listening: Callable[[str, int], None] | None,
) -> WSGIServer | None:
    if listen is None:
        return None
    from agent.metrics import make_registry, serve_metrics

    registry = make_registry(lambda: host.snapshot(smart="cached"), stats)
    server = serve_metrics(registry, *listen)
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    log_event(log, "agent.listening", address=f"{bound_host}:{bound_port}")
    if on_listening is not None:
        on_listening(bound_host, bound_port)
    return server


def _push(
    config: AgentConfig,
    inspector: Inspector,
    spool: Spool,
    stats: AgentStats,
    stop: threading.Event,
) -> None:
    from agent.runner import AgentRunner
    from weibao.delivery.push import Failure, PushClient, PushError, read_token, tls_verification

    assert config.token_file is not None  # config.check() saw to it
    token = read_token(config.token_file)
    verify = tls_verification(config.ca_file)
    with PushClient(config.desk, token, verify=verify) as client:
        runner = AgentRunner(inspector, client, spool, stats)
        log_event(log, "agent.started", desk=config.desk, device=inspector.device)
        try:
            if not config.once:
                runner.run_forever(config.interval, stop, full_every=config.full_every)
                return
            inspector.prime()
            stop.wait(PRIME_SECONDS)
            if not runner.run_once(full=True):
                raise DeskUnreachable(
                    f"the desk at {config.desk} did not take the inspection; it stays spooled "
                    f"in {spool.directory} ({spool.batches} batch(es) waiting)"
                )
        except PushError as exc:
            if exc.kind is Failure.fatal:
                raise DeskRefused(str(exc)) from None
            raise
