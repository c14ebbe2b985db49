"""GET and multi-column GETBULK walks over any :class:`Session`, within one time budget.

The walker owns the inspection-level policy that no single request can know:

- **one budget for the whole inspection**, not per request: every request gets only the
  time that is left, so a slow 200-port switch fails once, clearly, instead of each of
  its hundred requests timing out on its own;
- **adaptive request size**: ``max-repetitions`` starts at the inventory's value and is
  halved when the device answers ``tooBig`` or drops a large response (a timeout after
  the device has already answered a GET); it creeps back after clean walks. The size is
  kept per device between inspections;
- **several columns per request** (up to :data:`MAX_COLUMNS`), so an ifTable walk of ten
  columns costs the same number of round trips as one;
- **row hints**: the rows each column had last time size the next request, because a
  GETBULK past a column's end returns values that are thrown away (a 3-row table asked
  for 25 repetitions of 8 columns wastes 90 % of the answer);
- OIDs that do not increase (buggy agents, out-of-order recordings) end that column
  instead of looping.

A Session is the transport seam: our own codec over one shared UDP transport, for every
version (v3 through :mod:`collector.snmp.usm`), opened by :mod:`collector.snmp.engine`;
tests use a fake that serves a Snapshot, with no socket.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from collector.snmp.credentials import Credentials
from collector.snmp.oid import Oid, is_under
from collector.snmp.snapshot import Kind, Var
from weibao.errors import ProtocolError, Timeout

Varbinds = list[tuple[Oid, Var]]

MAX_GET = 32  # OIDs in one GET
MAX_COLUMNS = 8  # columns in one GETBULK


class ResponseTooBig(ProtocolError):
    """The agent answered ``tooBig``: ask for fewer values."""


class NoSuchName(ProtocolError):
    """SNMPv1's answer to a GET for an absent OID; ``index`` is 0-based in the request."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


class BudgetExhausted(Timeout):
    """The inspection's whole time budget ran out (the device may still be answering)."""


class Session(Protocol):
    """One device, one set of credentials: the three SNMP reads weibao needs."""

    version: str  # "1", "2c" or "3"
    target: str  # "host:port", for messages

    async def get(self, oids: Sequence[Oid]) -> Varbinds: ...

    async def get_next(self, oids: Sequence[Oid]) -> Varbinds: ...

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> Varbinds: ...


class SessionPool(Protocol):
    """Opens sessions (the EnginePool, or a fake serving recordings in tests)."""

    def session(
        self, creds: Credentials, host: str, port: int, timeout: float, retries: int
    ) -> AbstractAsyncContextManager[Session]: ...

    def close(self) -> None: ...


@dataclass
class RequestSize:
    """``max-repetitions`` for one device: halved on trouble, regrown after clean walks."""

    ceiling: int
    current: int = 0

    def __post_init__(self) -> None:
        if self.current <= 0 or self.current > self.ceiling:
            self.current = self.ceiling

    def shrink(self) -> bool:
        if self.current <= 1:
            return False
        self.current = max(1, self.current // 2)
        return True

    def grow(self) -> None:
        self.current = min(self.ceiling, self.current + max(1, self.current // 4))


@dataclass
class WalkStats:
    requests: int = 0
    varbinds: int = 0
    shrinks: int = 0
    not_increasing: int = 0


class Walker:
    """Reads for one inspection; ``deadline`` is on the running loop's clock."""

    def __init__(
        self,
        session: Session,
        size: RequestSize,
        deadline: float,
        rows: dict[Oid, int] | None = None,
    ) -> None:
        self.session = session
        self.size = size
        self.deadline = deadline
        self.rows = {} if rows is None else rows  # root -> rows seen last time (kept)
        self.stats = WalkStats()

    async def _within_budget(self, request: Awaitable[Varbinds]) -> Varbinds:
        loop = asyncio.get_running_loop()
        remaining = self.deadline - loop.time()
        if remaining <= 0:
            raise BudgetExhausted(self._budget_message())
        self.stats.requests += 1
        try:
            result = await asyncio.wait_for(request, remaining)
        except TimeoutError:
            raise BudgetExhausted(self._budget_message()) from None
        self.stats.varbinds += len(result)
        return result

    def _budget_message(self) -> str:
        return (
            f"the inspection's time budget ran out after {self.stats.requests} requests and "
            f"{self.stats.varbinds} values from {self.session.target} (the device answers, "
            "but too slowly for this interval)"
        )

    async def get(self, oids: Sequence[Oid]) -> Varbinds:
        """Values of ``oids``; absent ones come back as Kind.missing, never as an error."""
        out: Varbinds = []
        for start in range(0, len(oids), MAX_GET):
            out += await self._get_chunk(list(oids[start : start + MAX_GET]))
        return out

    async def _get_chunk(self, oids: list[Oid]) -> Varbinds:
        missing: Varbinds = []
        while oids:
            try:
                return missing + await self._within_budget(self.session.get(oids))
            except NoSuchName as exc:  # SNMPv1: drop the absent OID and ask again
                if not 0 <= exc.index < len(oids):
                    raise ProtocolError(f"{self.session.target}: {exc}") from None
                missing.append((oids.pop(exc.index), Var(Kind.missing, None)))
            except ResponseTooBig:
                if len(oids) == 1:
                    raise
                half = len(oids) // 2
                return (
                    missing
                    + await self._get_chunk(oids[:half])
                    + await self._get_chunk(oids[half:])
                )
        return missing

    async def first_under(self, roots: Sequence[Oid]) -> dict[Oid, tuple[Oid, Var]]:
        """One GETNEXT per root (32 to a request): the first value under each root that has
        one. Which tables a device answers, for choosing its profile; a root it does not
        answer is left out."""
        found: dict[Oid, tuple[Oid, Var]] = {}
        for start in range(0, len(roots), MAX_GET):
            chunk = list(roots[start : start + MAX_GET])
            while chunk:
                try:
                    varbinds = await self._within_budget(self.session.get_next(chunk))
                except NoSuchName as exc:  # SNMPv1: past the end of the MIB for that root
                    if not 0 <= exc.index < len(chunk):
                        raise ProtocolError(f"{self.session.target}: {exc}") from None
                    chunk.pop(exc.index)
                    continue
                for root, (oid, var) in zip(chunk, varbinds, strict=False):
                    if var.present and is_under(oid, root) and oid != root:
                        found[root] = (oid, var)
                break
        return found

    async def walk(self, roots: Sequence[Oid]) -> Varbinds:
        """Every value under each root (scalars groups or table columns)."""
        pending = deque(sorted(set(roots)))
        active: list[tuple[Oid, Oid]] = []  # (root, last OID read)
        out: Varbinds = []
        seen: dict[Oid, int] = dict.fromkeys(pending, 0)
        clean = True
        while pending or active:
            while pending and len(active) < MAX_COLUMNS:
                root = pending.popleft()
                active.append((root, root))
            try:
                varbinds = await self._next_rows(
                    [last for _, last in active], self._repetitions(active, seen)
                )
            except ResponseTooBig:
                if not self._shrink():
                    raise
                clean = False
                continue
            except BudgetExhausted:
                raise
            except Timeout:
                # The device answered before, so a silent request is most likely a
                # response too large for it (or for the path): ask for less.
                if not self._shrink():
                    raise
                clean = False
                continue
            active = self._advance(active, varbinds, out, seen)
        self.rows.update(seen)
        if clean:
            self.size.grow()
        return out

    def _repetitions(self, active: list[tuple[Oid, Oid]], seen: dict[Oid, int]) -> int:
        """Enough repetitions for the longest column expected, one more to see its end."""
        expected = 0
        for root, _ in active:
            hint = self.rows.get(root)
            if hint is None:
                return self.size.current
            expected = max(expected, hint - seen[root] + 1)
        return max(1, min(self.size.current, expected))

    def _shrink(self) -> bool:
        if self.session.version == "1" or not self.size.shrink():
            return False
        self.stats.shrinks += 1
        return True

    async def _next_rows(self, oids: list[Oid], repetitions: int) -> Varbinds:
        if self.session.version == "1":
            return await self._within_budget(self.session.get_next(oids))
        return await self._within_budget(self.session.get_bulk(oids, repetitions))

    def _advance(
        self,
        active: list[tuple[Oid, Oid]],
        varbinds: Varbinds,
        out: Varbinds,
        seen: dict[Oid, int],
    ) -> list[tuple[Oid, Oid]]:
        if not varbinds:
            raise ProtocolError(f"{self.session.target} answered a walk with no values")
        width = len(active)
        last = [oid for _, oid in active]
        done = [False] * width
        for position, (oid, var) in enumerate(varbinds):
            column = position % width  # GETBULK answers row by row
            if done[column]:
                continue
            root = active[column][0]
            if var.kind is Kind.end or not is_under(oid, root):
                done[column] = True
            elif oid <= last[column]:
                self.stats.not_increasing += 1
                done[column] = True
            else:
                out.append((oid, var))
                last[column] = oid
                seen[root] += 1
        return [(active[c][0], last[c]) for c in range(width) if not done[c]]
