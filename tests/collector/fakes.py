"""A Session and a SessionPool that serve a Snapshot: the walker and driver without sockets.

The fake follows the protocol's shapes (GETBULK answers row by row, endOfMibView past
the end, SNMPv1 noSuchName) and can misbehave on demand: answer tooBig or stay silent
above a request size, be slow, or be down.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from collector.snmp.credentials import Credentials
from collector.snmp.oid import Oid
from collector.snmp.snapshot import Kind, Snapshot, Var
from collector.snmp.walker import NoSuchName, ResponseTooBig, Varbinds
from weibao.errors import AuthError, Timeout


@dataclass
class Behaviour:
    too_big_above: int | None = None  # varbinds in one answer
    silent_above: int | None = None  # varbinds in one answer: drop the request
    truncate_to: int | None = None  # answer at most this many varbinds (agents may)
    delay: float = 0.0
    down: bool = False
    community: str | None = None  # when set, any other community times out
    requests: list[tuple[str, int, int]] = field(default_factory=list)  # (op, oids, reps)


class SnapshotSession:
    def __init__(
        self, snapshot: Snapshot, version: str = "2c", behaviour: Behaviour | None = None
    ) -> None:
        self.snapshot = snapshot
        self.version = version
        self.target = "fake:161"
        self.behaviour = behaviour or Behaviour()
        self._keys = [oid for oid, _ in snapshot.subtree(())]

    async def _enter(self, op: str, oids: int, reps: int) -> None:
        b = self.behaviour
        b.requests.append((op, oids, reps))
        if b.delay:
            await asyncio.sleep(b.delay)
        if b.down or (b.silent_above is not None and oids * reps > b.silent_above):
            raise Timeout("no answer from fake:161 (fake)")
        if b.too_big_above is not None and oids * reps > b.too_big_above:
            raise ResponseTooBig("fake:161 answered tooBig")

    def _next(self, oid: Oid) -> tuple[Oid, Var]:
        position = bisect.bisect_right(self._keys, oid)
        if position >= len(self._keys):
            return oid, Var(Kind.end, None)
        found = self._keys[position]
        var = self.snapshot.get(found)
        assert var is not None
        return found, var

    async def get(self, oids: Sequence[Oid]) -> Varbinds:
        await self._enter("get", len(oids), 1)
        out: Varbinds = []
        for position, oid in enumerate(oids):
            var = self.snapshot.get(oid)
            if var is None and self.version == "1":
                raise NoSuchName("noSuchName", position)
            out.append((oid, var if var is not None else Var(Kind.missing, None)))
        return out

    async def get_next(self, oids: Sequence[Oid]) -> Varbinds:
        await self._enter("next", len(oids), 1)
        return [self._next(oid) for oid in oids]

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> Varbinds:
        await self._enter("bulk", len(oids), max_repetitions)
        out: Varbinds = []
        current = list(oids)
        for _ in range(max_repetitions):
            for column, oid in enumerate(current):
                found, var = self._next(oid)
                out.append((found, var))
                current[column] = found
        limit = self.behaviour.truncate_to
        return out[:limit] if limit else out


class SnapshotPool:
    """Serves one Snapshot per host name; unknown hosts time out like a dead device."""

    def __init__(self, devices: dict[str, Snapshot], behaviour: Behaviour | None = None) -> None:
        self.devices = devices
        self.behaviour = behaviour or Behaviour()
        self.closed = False

    @contextlib.asynccontextmanager
    async def session(
        self, creds: Credentials, host: str, port: int, timeout: float, retries: int
    ) -> AsyncIterator[SnapshotSession]:
        b = self.behaviour
        if creds.version == "3" and creds.auth_key == "wrong":
            raise AuthError("fake:161 rejected the authentication (fake)")
        snapshot = self.devices.get(host)
        wrong_community = b.community is not None and creds.community != b.community
        behaviour = Behaviour(down=True) if snapshot is None or wrong_community else b
        yield SnapshotSession(snapshot or Snapshot(), creds.version, behaviour)

    def close(self) -> None:
        self.closed = True
