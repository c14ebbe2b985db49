"""The SNMP inspection driver: one device in, one InspectionResult out, never an exception.

An inspection reads the system group first (one GET: is the device there, which
profile fits it), then in as few requests as possible the scalars and columns the
profile's readers need, all within one time budget. What it keeps per device between
inspections: the adaptive request size, each column's row count (to size requests),
the previous counters (for rates) and the detected profile and identity.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from collector.driver import Depth, InspectionResult, failed_result
from collector.snmp.counters import CounterReading, CounterStore
from collector.snmp.credentials import resolve_credentials
from collector.snmp.engine import EnginePool
from collector.snmp.identify import MARKERS, UPS_IDENT, UPS_MANUFACTURER, Identity, identify
from collector.snmp.oid import Oid, is_under
from collector.snmp.profile_files import load_profiles
from collector.snmp.profiles import Detection, ProfileSet
from collector.snmp.rawtext import render
from collector.snmp.readers import EntityIndex, ReadContext, Reader, SystemReader
from collector.snmp.readers.system import SYS_DESCR, SYS_OBJECT_ID, SYSTEM_OIDS, uptime_ticks
from collector.snmp.snapshot import Snapshot
from collector.snmp.walker import BudgetExhausted, RequestSize, SessionPool, Walker
from weibao.errors import (
    InspectionError,
    ProtocolError,
    SecretMissing,
    Timeout,
)
from weibao.inventory.model import DeviceContext, SnmpInspection
from weibao.observation import Observation, Sample, Source

log = logging.getLogger(__name__)

FULL_BUDGET = timedelta(minutes=15)
HEALTH_SHARE = 0.9  # of the health interval: a health check must end before the next


def default_budget(ctx: DeviceContext, depth: Depth) -> timedelta:
    """The whole inspection's time: most of the health interval, or 15 min for a full one."""
    if depth is Depth.full:
        return FULL_BUDGET
    return ctx.schedule.health_interval * HEALTH_SHARE


@dataclass
class DeviceState:
    size: RequestSize
    rows: dict[Oid, int] = field(default_factory=dict)
    counters: CounterStore = field(default_factory=CounterStore)
    detection: Detection | None = None
    detected_for: tuple[str, str, str] = ("", "", "")  # sysObjectID, sysDescr, kind
    readers: list[Reader] = field(default_factory=list)
    identity: dict[str, str] = field(default_factory=dict)
    recognised: Identity = field(default_factory=Identity)  # kind and vendor from the answers


class SnmpDriver:
    """Implements :class:`collector.driver.Driver`; one per event loop (engines bind to it)."""

    name = "snmp"

    def __init__(
        self,
        profiles: ProfileSet | None = None,
        pool: SessionPool | None = None,
        budget: Callable[[DeviceContext, Depth], timedelta] = default_budget,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.profiles = profiles if profiles is not None else load_profiles()
        self.pool: SessionPool = pool if pool is not None else EnginePool()
        self.budget = budget
        self.environ = environ
        self._states: dict[str, DeviceState] = {}

    def close(self) -> None:
        """Close pysnmp's sockets and timers (the scheduler calls this on shutdown)."""
        self.pool.close()

    async def inspect(self, ctx: DeviceContext, depth: Depth, now: datetime) -> InspectionResult:
        device = ctx.device
        snmp = device.inspect.snmp
        if snmp is None or not device.address:
            error = InspectionError(f"device {device.name} has no SNMP inspection configured")
            return self._failed(device.name, now, error, reached=False)
        seconds = self.budget(ctx, depth).total_seconds()
        return await self.inspect_target(
            device.name, device.address, snmp, device.kind.value, depth, now, seconds
        )

    async def inspect_target(
        self,
        name: str,
        address: str,
        snmp: SnmpInspection,
        kind: str | None,
        depth: Depth,
        now: datetime,
        budget: float,
    ) -> InspectionResult:
        """Inspect a device given by parts (``weibao probe snmp`` has no inventory entry)."""
        state = self._state(name, snmp)
        started = time.monotonic()
        walker: Walker | None = None
        try:
            creds = resolve_credentials(snmp, self.environ)
        except SecretMissing as exc:
            return self._failed(name, now, InspectionError(str(exc)), reached=False)
        try:
            timeout = snmp.timeout.total_seconds()
            async with self.pool.session(creds, address, snmp.port, timeout, snmp.retries) as s:
                deadline = asyncio.get_running_loop().time() + budget
                walker = Walker(s, state.size, deadline, state.rows)
                snap = Snapshot(await walker.get(SYSTEM_OIDS))
                if not any(oid in snap for oid in SYSTEM_OIDS):
                    raise ProtocolError(f"{s.target} answers but shows no system group")
                readers = await self._detect(state, walker, snap, kind, depth)
                await self._read(walker, snap, readers, state, depth)
            cost = {
                "requests": str(walker.stats.requests),
                "varbinds": str(walker.stats.varbinds),
                "max_repetitions": str(state.size.current),
                "elapsed_ms": f"{(time.monotonic() - started) * 1000:.0f}",
                "security": creds.describe(),
            }
            if walker.stats.not_increasing:
                cost["oid_not_increasing"] = str(walker.stats.not_increasing)
            observation = self._observation(name, now, snap, state, depth, snmp, kind, cost)
        except InspectionError as exc:
            reached = walker is not None and walker.stats.varbinds > 0
            return self._failed(name, now, exc, reached=reached)
        except Exception as exc:  # a bug must not stop the other devices; it is logged loudly
            log.exception("SNMP inspection of %s failed unexpectedly", name)
            error = ProtocolError(f"internal error while inspecting: {type(exc).__name__}: {exc}")
            return self._failed(name, now, error, reached=False)
        raw = {"snmp": render(snap)}
        return InspectionResult(device=name, driver=self.name, observation=observation, raw=raw)

    def _state(self, name: str, snmp: SnmpInspection) -> DeviceState:
        state = self._states.get(name)
        if state is None:
            state = self._states[name] = DeviceState(RequestSize(snmp.max_repetitions))
        elif state.size.ceiling != snmp.max_repetitions:
            state.size = RequestSize(snmp.max_repetitions)
        return state

    async def _detect(
        self, state: DeviceState, walker: Walker, snap: Snapshot, kind: str | None, depth: Depth
    ) -> list[Reader]:
        """Choose the profile; probe which tables the device answers first. Done once per
        device, again when sysObjectID or sysDescr changes, and on each full inspection."""
        oid_var, descr_var = snap.get(SYS_OBJECT_ID), snap.get(SYS_DESCR)
        sys_oid = oid_var.oid() if oid_var is not None else None
        descr = descr_var.text() if descr_var is not None else ""
        key = (oid_var.text() if oid_var else "", descr, kind or "")
        if state.detection is None or state.detected_for != key or depth is Depth.full:
            roots = list(dict.fromkeys([*MARKERS, *self.profiles.probe_roots(sys_oid, descr)]))
            try:
                answered = await walker.first_under(roots)
            except BudgetExhausted:
                raise
            except (Timeout, ProtocolError) as exc:  # no probe: match on the system group
                log.info("SNMP probe of %s failed, matching without it: %s", walker, exc)
                answered, roots = {}, []
            detection = self.profiles.match(sys_oid, descr, kind, answered)
            probed = frozenset(roots)
            state.detection = Detection(
                detection.profile,
                detection.reason,
                probed=probed,
                absent=frozenset(r for r in probed if r not in answered),
            )
            state.detected_for = key
            state.readers = [SystemReader(), *state.detection.profile.build_readers()]
            state.identity = {}
            profile = detection.profile
            matched_itself = not detection.reason.startswith(("fallback", "no profile"))
            profile_kind = (
                (profile.kind.value, f"profile {profile.name} ({detection.reason})")
                if profile.kind is not None and matched_itself
                else None
            )
            # GETNEXT on upsIdent lands on its first object, upsIdentManufacturer
            first = answered.get(UPS_IDENT)
            manufacturer = first[1].text() if first and first[0] == UPS_MANUFACTURER else ""
            state.recognised = identify(sys_oid, descr, answered, profile_kind, kind, manufacturer)
        return state.readers

    async def _read(
        self,
        walker: Walker,
        snap: Snapshot,
        readers: list[Reader],
        state: DeviceState,
        depth: Depth,
    ) -> None:
        assert state.detection is not None
        gets: list[Oid] = []
        walks: list[Oid] = []
        for reader in readers:
            gets += [o for o in reader.gets() if o not in snap and o not in SYSTEM_OIDS]
            walks += reader.walks(depth)
        if any(r.needs_entities for r in readers):
            walks += EntityIndex.WALKS
        if depth is Depth.full or not state.identity:
            for oid in state.detection.profile.identity_oids():
                (gets if oid[-1] == 0 else walks).append(oid)
        absent = state.detection.absent
        if absent:  # tables the device showed it does not have: nothing to ask for
            gets = [o for o in gets if not any(is_under(o, root) for root in absent)]
            walks = [o for o in walks if not any(_within(o, root) for root in absent)]
        if gets:
            snap.update(await walker.get(list(dict.fromkeys(gets))))
        if walks:
            snap.update(await walker.walk(walks))

    def _observation(
        self,
        name: str,
        now: datetime,
        snap: Snapshot,
        state: DeviceState,
        depth: Depth,
        snmp: SnmpInspection,
        kind: str | None,
        cost: dict[str, str],
    ) -> Observation:
        assert state.detection is not None
        profile = state.detection.profile
        needs_entities = any(r.needs_entities for r in state.readers)
        ctx = ReadContext(
            snap, depth, EntityIndex.from_snapshot(snap) if needs_entities else EntityIndex()
        )
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], Sample] = {}
        counters: list[CounterReading] = []
        facts: dict[str, str] = {}
        for reader in state.readers:
            reading = reader.read(ctx)
            for sample in reading.samples:
                samples.setdefault((sample.name, tuple(sorted(sample.labels.items()))), sample)
            counters += reading.counters
            for key, value in reading.facts.items():
                facts.setdefault(key, value)
        rates = state.counters.update(now, uptime_ticks(ctx), counters)
        if depth is Depth.full or not state.identity:
            descr = snap.get(SYS_DESCR)
            identity = profile.identify(descr.text() if descr else "", snap)
            state.identity = identity or {"vendor": ""}
        weak = snmp.weak
        out = [
            Sample(name="up", value=1.0),
            *samples.values(),
            *rates.samples,
            Sample(name="snmp_weak_security", value=float(bool(weak))),
        ]
        meta = {k: v for k, v in state.identity.items() if v}
        recognised = state.recognised
        if "vendor" not in meta and recognised.vendor:
            meta["vendor"] = recognised.vendor
        meta.update(profile=profile.name, profile_reason=state.detection.reason, depth=depth.value)
        meta.update(recognised.meta())
        if profile.kind is not None:
            meta["kind"] = profile.kind.value
        found = meta.get("kind")
        if kind and found and kind != found and not recognised.unsure:
            who = "the profile" if profile.kind is not None else "the device's answers"
            meta["kind_mismatch"] = f"the inventory says {kind}, {who} {found}"
        for fact in ("sys_object_id", "sys_name", "neighbors", "lldp_chassis"):
            if fact in facts:
                meta[fact] = facts[fact]
        if weak:
            meta["weak"] = "; ".join(weak)
        if rates.restarted:
            meta["restarted"] = "true"
        meta.update(cost)
        return Observation(device=name, source=Source.snmp, time=now, samples=out, meta=meta)

    def _failed(
        self, name: str, now: datetime, error: InspectionError, reached: bool
    ) -> InspectionResult:
        return failed_result(name, self.name, Source.snmp, now, error, reached)


def _within(oid: Oid, root: Oid) -> bool:
    """``oid`` is ``root`` itself or lies under it (a walk root may be the probed root)."""
    return oid[: len(root)] == root
