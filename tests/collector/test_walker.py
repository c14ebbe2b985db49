"""The walker against a fake agent: same answers as the data, whatever the device does."""

from __future__ import annotations

import asyncio

import pytest

from collector.snmp.oid import Oid
from collector.snmp.snapshot import Kind, Snapshot, Var
from collector.snmp.walker import BudgetExhausted, RequestSize, Walker
from tests.collector.fakes import Behaviour, SnapshotSession
from weibao.errors import ProtocolError, Timeout

IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2, 1)
COLUMNS = [(*IF_TABLE, c) for c in (2, 7, 8)]


def table(rows: int) -> Snapshot:
    items: list[tuple[Oid, Var]] = [((1, 3, 6, 1, 2, 1, 1, 3, 0), Var(Kind.ticks, 100))]
    for row in range(1, rows + 1):
        items.append(((*IF_TABLE, 2, row), Var(Kind.octets, f"port{row}".encode())))
        items.append(((*IF_TABLE, 7, row), Var(Kind.integer, 1)))
        items.append(((*IF_TABLE, 8, row), Var(Kind.integer, 1 + row % 2)))
    items.append(((1, 3, 6, 1, 2, 1, 31, 1), Var(Kind.integer, 0)))  # after the table
    return Snapshot(items)


def walk(
    session: SnapshotSession,
    roots: list[Oid],
    size: RequestSize | None = None,
    budget: float = 5.0,
    rows: dict[Oid, int] | None = None,
) -> tuple[list[tuple[Oid, Var]], Walker]:
    async def run() -> tuple[list[tuple[Oid, Var]], Walker]:
        deadline = asyncio.get_running_loop().time() + budget
        walker = Walker(session, size or RequestSize(25), deadline, rows)
        return await walker.walk(roots), walker

    return asyncio.run(run())


def expected(snap: Snapshot, roots: list[Oid]) -> list[tuple[Oid, Var]]:
    return sorted((root + suffix, var) for root in roots for suffix, var in snap.subtree(root))


@pytest.mark.parametrize("version", ["1", "2c", "3"])
@pytest.mark.parametrize("rows", [0, 1, 7, 60])
def test_walk_reads_exactly_the_subtrees(version: str, rows: int) -> None:
    snap = table(rows)
    got, _ = walk(SnapshotSession(snap, version), COLUMNS)
    assert sorted(got) == expected(snap, COLUMNS)


def test_columns_share_requests() -> None:
    snap = table(60)
    session = SnapshotSession(snap)
    walk(session, COLUMNS, RequestSize(25))
    # 60 rows, 3 columns in each request, 25 rows per answer: 3 requests, not 9.
    assert len(session.behaviour.requests) == 3


def test_row_hints_size_the_next_walk() -> None:
    snap = table(3)
    rows: dict[Oid, int] = {}
    first = SnapshotSession(snap)
    walk(first, COLUMNS, RequestSize(25), rows=rows)
    assert rows == dict.fromkeys(COLUMNS, 3)
    second = SnapshotSession(snap)
    got, _ = walk(second, COLUMNS, RequestSize(25), rows=rows)
    assert sorted(got) == expected(snap, COLUMNS)
    assert [r[2] for r in second.behaviour.requests] == [4]  # 3 rows + 1 to see the end


def test_too_big_halves_the_request_and_is_remembered() -> None:
    snap = table(60)
    size = RequestSize(40)
    session = SnapshotSession(snap, behaviour=Behaviour(too_big_above=30))
    got, walker = walk(session, COLUMNS, size)
    assert sorted(got) == expected(snap, COLUMNS)
    assert size.current == 10 and walker.stats.shrinks == 2  # 40 -> 20 -> 10 (x3 columns)


def test_a_dropped_large_answer_is_retried_smaller() -> None:
    snap = table(60)
    size = RequestSize(25)
    session = SnapshotSession(snap, behaviour=Behaviour(silent_above=40))
    got, _ = walk(session, COLUMNS, size)
    assert sorted(got) == expected(snap, COLUMNS)
    assert size.current * 3 <= 40


def test_a_truncated_answer_continues_where_it_stopped() -> None:
    snap = table(60)
    session = SnapshotSession(snap, behaviour=Behaviour(truncate_to=7))
    got, _ = walk(session, COLUMNS)
    assert sorted(got) == expected(snap, COLUMNS)


def test_silence_at_the_smallest_size_is_a_timeout() -> None:
    session = SnapshotSession(table(5), behaviour=Behaviour(silent_above=0))
    with pytest.raises(Timeout):
        walk(session, COLUMNS, RequestSize(4))


def test_the_budget_covers_the_whole_walk() -> None:
    session = SnapshotSession(table(60), behaviour=Behaviour(delay=0.05))
    with pytest.raises(BudgetExhausted, match="time budget ran out after"):
        walk(session, COLUMNS, RequestSize(2), budget=0.2)  # ~90 requests x 50 ms


def test_oids_that_do_not_increase_end_the_column() -> None:
    class Looping(SnapshotSession):
        async def get_bulk(self, oids: object, max_repetitions: int) -> list[tuple[Oid, Var]]:
            return [
                ((*IF_TABLE, 2, 5), Var(Kind.octets, b"x")),
                ((*IF_TABLE, 2, 4), Var(Kind.octets, b"y")),
            ]

    got, walker = walk(Looping(table(5)), [(*IF_TABLE, 2)])
    assert [oid for oid, _ in got] == [(*IF_TABLE, 2, 5)]
    assert walker.stats.not_increasing == 1


def test_an_empty_answer_is_a_protocol_error() -> None:
    class Empty(SnapshotSession):
        async def get_bulk(self, oids: object, max_repetitions: int) -> list[tuple[Oid, Var]]:
            return []

    with pytest.raises(ProtocolError, match="no values"):
        walk(Empty(table(5)), COLUMNS)


def test_get_marks_absent_oids_missing_also_in_snmpv1() -> None:
    present, absent = (1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 2, 1, 1, 9, 0)
    for version in ("1", "2c"):

        async def run(v: str = version) -> list[tuple[Oid, Var]]:
            walker = Walker(SnapshotSession(table(1), v), RequestSize(5), 1e12)
            return await walker.get([absent, present])

        got = dict(asyncio.run(run()))
        assert got[present] == Var(Kind.ticks, 100)
        assert got[absent].kind is Kind.missing


def test_request_size_grows_back_after_clean_walks() -> None:
    size = RequestSize(25, current=4)
    for _ in range(10):
        size.grow()
    assert size.current == 25
    assert RequestSize(10, current=50).current == 10
