"""The SSH inspection driver: one device in, one InspectionResult out, never an exception.

One connection per device per inspection runs the profile's fixed commands in a worker
thread of the driver's own pool (paramiko blocks). The pool is sized for the fleet, not
left to asyncio's default executor (``cpu + 4`` threads), where a few dead devices
holding threads until their timeout would delay every other device.

Kept per device between inspections: the host key a trust-on-first-use device showed
first, when its logs were last read (the next full inspection reads only newer lines),
and a network device's newest log-buffer entry (the next read counts only later ones).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from collector.driver import Depth, InspectionResult, failed_result
from collector.ssh.client import HostKeyPolicy, Login, Session, SshConnection, load_private_key
from collector.ssh.profiles import PROFILES, Profile
from weibao.errors import (
    InspectionError,
    ProtocolError,
    SecretMissing,
    Timeout,
)
from weibao.inventory.model import DeviceContext, SshInspection
from weibao.observation import Observation, Sample, Source

log = logging.getLogger(__name__)

FULL_BUDGET = timedelta(minutes=5)
HEALTH_SHARE = 0.9  # of the health interval: a health check must end before the next
LOG_LOOKBACK = timedelta(days=1)  # the first full inspection reads a day of logs
RAW_MAX = 64 * 1024  # command output kept in the result for the ticket, per command


def default_budget(ctx: DeviceContext, depth: Depth) -> timedelta:
    if depth is Depth.full:
        return FULL_BUDGET
    return ctx.schedule.health_interval * HEALTH_SHARE


@dataclass
class DeviceState:
    first_key: str | None = None  # trust on first use: the key seen first
    logs_read: datetime | None = None
    log_cursors: dict[str, str] = field(default_factory=dict)  # command key -> newest entry


class SshDriver:
    """Implements :class:`collector.driver.Driver`; call :meth:`close` on shutdown."""

    name = "ssh"

    def __init__(self, max_threads: int = 64, environ: Mapping[str, str] | None = None) -> None:
        self.environ = environ
        self._pool = ThreadPoolExecutor(max_threads, thread_name_prefix="weibao-ssh")
        self._states: dict[str, DeviceState] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def inspect(self, ctx: DeviceContext, depth: Depth, now: datetime) -> InspectionResult:
        device = ctx.device
        ssh = device.inspect.ssh
        if ssh is None or not device.address:
            error = InspectionError(f"device {device.name} has no SSH inspection configured")
            return _failed(device.name, now, error)
        budget = default_budget(ctx, depth).total_seconds()
        return await self.inspect_target(device.name, device.address, ssh, depth, now, budget)

    async def inspect_target(
        self,
        name: str,
        address: str,
        ssh: SshInspection,
        depth: Depth,
        now: datetime,
        budget: float,
    ) -> InspectionResult:
        """Inspect a device given by parts (``weibao probe ssh`` has no inventory entry)."""
        started = time.monotonic()
        state = self._states.setdefault(name, DeviceState())
        profile = PROFILES.get(ssh.os)
        if profile is None:
            known = ", ".join(sorted(PROFILES))
            error = InspectionError(f"no SSH command profile {ssh.os!r} (known: {known})")
            return _failed(name, now, error)
        try:
            login = resolve_login(ssh, self.environ)
        except InspectionError as exc:
            return _failed(name, now, exc)
        policy = HostKeyPolicy(
            ssh.host_key, ssh.known_hosts, ssh.trust_on_first_use, state.first_key
        )
        since = state.logs_read or now - LOG_LOOKBACK
        commands = profile.for_depth(depth)
        lines = [(c.key, c.render(since)) for c in commands]
        conn = SshConnection(address, ssh.port, profile.shell)
        deadline = time.monotonic() + budget
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(
            self._pool, conn.inspect, login, policy, ssh.timeout.total_seconds(), lines, deadline
        )
        try:
            session = await asyncio.wait_for(job, budget)
        except TimeoutError:
            conn.abort()
            error = Timeout(f"{conn.target}: no result within {budget:.1f}s ({conn.stage})")
            return _failed(name, now, error)
        except InspectionError as exc:
            return _failed(name, now, exc)
        except Exception as exc:  # a bug must not stop the other devices; logged loudly
            log.exception("SSH inspection of %s failed unexpectedly", name)
            error = ProtocolError(f"internal error while inspecting: {type(exc).__name__}: {exc}")
            return _failed(name, now, error)
        if session.trust == "first-use":
            state.first_key = session.fingerprint
        if depth is Depth.full:
            state.logs_read = now
        elapsed = (time.monotonic() - started) * 1000
        return build_result(name, now, profile, depth, session, since, elapsed, state.log_cursors)


def resolve_login(ssh: SshInspection, environ: Mapping[str, str] | None) -> Login:
    """Read the key and password references now, so a rotated secret needs no restart."""
    try:
        key = None
        if ssh.key is not None:
            key = load_private_key(ssh.key.resolve(environ), str(ssh.key))
        password = ssh.password.resolve(environ) if ssh.password is not None else None
    except SecretMissing as exc:
        raise InspectionError(str(exc)) from None
    return Login(ssh.user, key, password)


def build_result(
    name: str,
    now: datetime,
    profile: Profile,
    depth: Depth,
    session: Session,
    since: datetime,
    elapsed_ms: float,
    log_cursors: dict[str, str] | None = None,
) -> InspectionResult:
    """Parse each command's output; a command that is not usable here gives no samples.

    ``log_cursors`` (the device's, kept between inspections) is read and updated: the
    newest entry of each log buffer read.
    """
    cursors = log_cursors if log_cursors is not None else {}
    samples = [Sample(name="up", value=1.0)]
    facts: dict[str, str] = {}
    unavailable: list[str] = []
    raw: dict[str, str] = {}
    for command in profile.for_depth(depth):
        out = session.outputs.get(command.key)
        if out is None:
            continue
        raw[command.key] = out.stdout[:RAW_MAX]
        absent = any(m in out.stdout or m in out.stderr for m in command.absent_markers)
        if out.status not in command.ok_status or absent:
            first = (out.stderr.strip().splitlines() or [""])[0][:120]
            unavailable.append(f"{command.key} (exit {out.status}: {first})")
            continue
        reading = command.parse_output(out.stdout, since, cursors.get(command.key))
        if command.parse_log is not None:
            if reading.cursor is None:
                cursors.pop(command.key, None)
            else:
                cursors[command.key] = reading.cursor
        samples += reading.samples
        for key, value in reading.facts.items():
            facts.setdefault(key, value)
    meta = {
        **facts,
        "profile": profile.name,
        "depth": depth.value,
        "host_key": session.fingerprint,
        "host_key_trust": session.trust,
        "commands": str(len(session.outputs)),
        "elapsed_ms": f"{elapsed_ms:.0f}",
    }
    if session.trust == "first-use":
        meta["host_key_hint"] = f"trusted on first use: pin it as host_key: {session.fingerprint}"
    if unavailable:
        meta["unavailable"] = "; ".join(unavailable)[:1000]
    observation = Observation(device=name, source=Source.ssh, time=now, samples=samples, meta=meta)
    return InspectionResult(device=name, driver="ssh", observation=observation, raw=raw)


def _failed(name: str, now: datetime, error: InspectionError) -> InspectionResult:
    return failed_result(name, "ssh", Source.ssh, now, error)
