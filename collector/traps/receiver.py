"""The SNMP trap receiver: v1, v2c and v3 notifications in, observations out.

``TrapReceiver(contexts, on_observation)`` listens on UDP, identifies each trap's
device by source address and credentials (:mod:`collector.traps.sources`), maps it
through the catalog (:mod:`collector.traps.mapping`) and calls ``on_observation`` with
one :class:`~weibao.observation.Observation` (source ``trap``) per trap. It runs in any
asyncio loop (``weibao collector --traps``, or the desk in-process): ``await start()``,
``await stop()``.

Dropped, counted (:class:`TrapStats`) and logged at most once per address every few
minutes, never with a community or key: traps from addresses of no inventory device,
a wrong community, an unknown SNMPv3 user, and messages SNMPv3 security refuses.
Memory is bounded: the per-device trap state (:mod:`collector.traps.state`), the
log throttle and pysnmp's credential registrations all have limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from collector.snmp.credentials import Credentials
from collector.snmp.oid import Oid
from collector.snmp.snapshot import Var
from collector.traps.catalog import Catalog
from collector.traps.catalog_files import load_catalog
from collector.traps.listener import Header, Listener
from collector.traps.mapping import map_trap, read_trap, trap_meta
from collector.traps.sources import SourceIndex, match_community, match_user, speaks_v3
from collector.traps.state import TrapState
from weibao.clock import Clock, SystemClock
from weibao.errors import SecretMissing
from weibao.inventory.model import DeviceContext
from weibao.logs import log_event
from weibao.observation import Observation, Sample, Source

log = logging.getLogger("weibao.traps")
LOG_EVERY = 300.0  # seconds between two log lines about the same address and problem
MAX_THROTTLED = 1024  # addresses the log throttle remembers
SAVE_DELAY = 2.0  # seconds between a state change and writing the state file

OnObservation = Callable[[Observation], None]


@dataclass
class TrapStats:
    received: int = 0  # datagrams
    accepted: int = 0  # notifications turned into observations
    unknown_trap: int = 0  # ... of which the catalog does not know the OID
    unknown_source: int = 0  # from an address of no inventory device
    bad_community: int = 0  # v1/v2c community not the device's (or no SNMP settings)
    unknown_user: int = 0  # SNMPv3 user not the device's
    refused: int = 0  # SNMPv3 security refused it (wrong key, time window) or pysnmp did
    malformed: int = 0  # not an SNMP message we can read
    not_notification: int = 0  # a get or set sent to the trap port
    secret_unreadable: int = 0  # the device's community or key reference cannot be read
    discovery: int = 0  # SNMPv3 engine-ID discovery before an inform
    refreshed: int = 0  # observations re-sent without a new trap (see state.py)
    callback_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class _Ticket:
    ctx: DeviceContext | None  # None: v3 discovery, answered by pysnmp, no notification
    header: Header
    host: str
    security: str = ""
    secrets: frozenset[str] = frozenset()  # never shown in meta, even if a varbind holds one


def _secrets(creds: Credentials) -> frozenset[str]:
    return frozenset(v for v in (creds.community, creds.auth_key, creds.priv_key) if v)


class _Throttle:
    """Says whether to log about (problem, address) now: at most once per LOG_EVERY."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._last: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()

    def allow(self, problem: str, address: str) -> int | None:
        """None to stay quiet; else how many were suppressed since the last line."""
        now = self.clock.now().timestamp()
        key = (problem, address)
        last = self._last.get(key)
        if last is not None and now - last[0] < LOG_EVERY:
            self._last[key] = (last[0], last[1] + 1)
            return None
        self._last[key] = (now, 0)
        self._last.move_to_end(key)
        while len(self._last) > MAX_THROTTLED:
            self._last.popitem(last=False)
        return 0 if last is None else last[1]


class TrapReceiver:
    def __init__(
        self,
        contexts: Sequence[DeviceContext],
        on_observation: OnObservation,
        *,
        listen: Sequence[tuple[str, int]] = (("0.0.0.0", 162),),
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        state_file: Path | None = None,
        refresh: float = 60.0,
        window: float = 3600.0,
        hold: float = 600.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.on_observation = on_observation
        self.listen = list(listen)
        self.clock = clock or SystemClock()
        self.catalog = catalog or load_catalog()
        self.state_file = state_file
        self.refresh = refresh
        self.environ = environ
        self.stats = TrapStats()
        self.state = TrapState(window=window, hold=hold)
        self.addresses: list[tuple[str, int]] = []
        self._index = SourceIndex(contexts)
        self._listener = Listener(self._gate, self._deliver, self._refused)
        self._throttle = _Throttle(self.clock)
        self._ticker: asyncio.Task[None] | None = None
        self._dirty = False
        self._save_soon: asyncio.TimerHandle | None = None

    async def start(self) -> list[tuple[str, int]]:
        """Listen; returns the addresses bound (port 0 becomes the port chosen)."""
        for name in await self._index.resolve():
            log_event(log, "trap.address_unresolved", logging.WARNING, address=name)
        self._load_state()
        self.addresses = await self._listener.open(self.listen)
        self._ticker = asyncio.ensure_future(self._tick_forever())
        listening = " ".join(f"{h}:{p}" for h, p in self.addresses)
        log_event(log, "trap.listening", addresses=listening)
        return self.addresses

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        self._listener.close()
        self._save_state()

    def tick(self) -> int:
        """Report again the devices whose trap state needs it (see state.py); save it."""
        now = self.clock.now()
        sent = 0
        for device in self.state.due(now.timestamp()):
            samples = self.state.snapshot(device, now.timestamp())
            meta = {"trap_refresh": "true"}
            self._emit(
                Observation(device=device, source=Source.trap, time=now, samples=samples, meta=meta)
            )
            sent += 1
        self.stats.refreshed += sent
        self._dirty = self._dirty or sent > 0
        self._save_state()
        return sent

    def _changed(self) -> None:
        """Save soon, at most every SAVE_DELAY seconds: a stop by SIGTERM (systemd) runs
        no cleanup, and a trap storm must not write the file for every trap."""
        self._dirty = True
        if self.state_file is not None and self._save_soon is None:
            loop = asyncio.get_running_loop()
            self._save_soon = loop.call_later(SAVE_DELAY, self._save_state)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh)
            self.tick()

    # -- the gate: who sent it, and may it pass ------------------------------------------

    def _gate(self, header: Header | None, host: str) -> _Ticket | None:
        self.stats.received += 1
        if header is None:
            self.stats.malformed += 1
            self._warn("malformed", host, "trap.malformed")
            return None
        candidates = self._index.devices_at(host)
        if not candidates:
            self.stats.unknown_source += 1
            self._warn("unknown_source", host, "trap.unknown_source", version=header.version)
            return None
        names = ",".join(c.device.name for c in candidates)
        try:
            if header.version != "3":
                return self._gate_community(header, host, candidates, names)
            return self._gate_v3(header, host, candidates, names)
        except SecretMissing as exc:
            self.stats.secret_unreadable += 1
            self._warn("secret", host, "trap.secret_unreadable", device=names, error=str(exc))
            return None

    def _gate_community(
        self, header: Header, host: str, candidates: list[DeviceContext], names: str
    ) -> _Ticket | None:
        if not header.notification:
            self.stats.not_notification += 1
            self._warn("not_notification", host, "trap.not_a_notification", device=names)
            return None
        match = match_community(candidates, header.community or b"", self.environ)
        if match is None:
            self.stats.bad_community += 1
            self._warn(
                "bad_community",
                host,
                "trap.wrong_community",
                device=names,
                version=header.version,
                hint="the trap's community is not the one inspect.snmp names for this device",
            )
            return None
        assert match.creds.community is not None
        self._listener.ensure_community(match.creds.community)
        security = f"SNMPv{header.version} community"
        return _Ticket(match.ctx, header, host, security, _secrets(match.creds))

    def _gate_v3(
        self, header: Header, host: str, candidates: list[DeviceContext], names: str
    ) -> _Ticket | None:
        if not header.user:
            if speaks_v3(candidates):  # engine-ID discovery before an inform: pysnmp answers
                self.stats.discovery += 1
                return _Ticket(None, header, host)
            self.stats.unknown_user += 1
            return None
        match = match_user(candidates, header.user, self.environ)
        if match is None:
            self.stats.unknown_user += 1
            self._warn("unknown_user", host, "trap.unknown_user", device=names, user=header.user)
            return None
        if header.engine_id and not self._listener.ensure_v3_user(header.engine_id, match.creds):
            self.stats.malformed += 1
            self._warn("malformed", host, "trap.malformed", device=names, why="bad engine ID")
            return None
        return _Ticket(match.ctx, header, host, match.creds.describe(), _secrets(match.creds))

    def _refused(self, ticket: object) -> None:
        assert isinstance(ticket, _Ticket)
        if ticket.ctx is None:
            return  # discovery: pysnmp answered with a report, nothing to deliver
        self.stats.refused += 1
        why = "SNMPv3 security refused it: wrong auth_key or priv_key (or protocol), or a "
        why += "stale time window" if ticket.header.version == "3" else "pysnmp refused it"
        self._warn("refused", ticket.host, "trap.refused", device=ticket.ctx.device.name, why=why)

    # -- delivery ------------------------------------------------------------------------

    def _deliver(self, ticket: object, varbinds: list[tuple[Oid, Var]], inform: bool) -> None:
        assert isinstance(ticket, _Ticket)
        if ticket.ctx is None:
            return
        trap = read_trap(varbinds, ticket.header.version, ticket.host, inform)
        if trap is None:
            self.stats.not_notification += 1
            return
        effects = map_trap(trap, self.catalog)
        now = self.clock.now()
        device = ticket.ctx.device.name
        self.state.apply(device, effects, now.timestamp())
        samples: list[Sample] = [*effects.samples, *self.state.snapshot(device, now.timestamp())]
        meta = trap_meta(trap, effects, ticket.secrets)
        meta["security"] = ticket.security
        obs = Observation(device=device, source=Source.trap, time=now, samples=samples, meta=meta)
        self.stats.accepted += 1
        self.stats.unknown_trap += 0 if effects.name else 1
        if effects.states or effects.events:
            self._changed()
        name = effects.name or meta["trap_oid"]
        log_event(log, "trap.received", logging.DEBUG, device=device, trap=name)
        self._emit(obs)

    def _emit(self, obs: Observation) -> None:
        try:
            self.on_observation(obs)
        except Exception:  # the caller's bug must not close the socket (asyncio would)
            self.stats.callback_errors += 1
            log.exception("trap.callback_failed device=%s", obs.device)

    def _warn(self, problem: str, host: str, event: str, **fields: str) -> None:
        suppressed = self._throttle.allow(problem, host)
        if suppressed is not None:
            if suppressed:
                fields["suppressed"] = str(suppressed)
            log_event(log, event, logging.WARNING, address=host, **fields)

    # -- state across restarts -----------------------------------------------------------

    def _load_state(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log_event(
                log,
                "trap.state_unreadable",
                logging.WARNING,
                file=str(self.state_file),
                error=str(exc),
            )
            return
        restored = self.state.load(data, self._index.devices())
        log_event(log, "trap.state_restored", file=str(self.state_file), series=restored)

    def _save_state(self) -> None:
        """Written to a temporary name and renamed, so a crash never leaves half a file."""
        if self._save_soon is not None:
            self._save_soon.cancel()
            self._save_soon = None
        if self.state_file is None or not self._dirty:
            return
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        try:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.state.dump()), encoding="utf-8")
            os.replace(tmp, self.state_file)
        except OSError as exc:
            log_event(
                log,
                "trap.state_unsaved",
                logging.WARNING,
                file=str(self.state_file),
                error=str(exc),
            )
            return
        self._dirty = False
