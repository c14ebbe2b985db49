"""The v1/v2c UDP transport against net-snmp's ``snmpd`` (started here on a loopback port).

net-snmp's ``snmpget``/``snmpgetnext``/``snmpbulkwalk`` on the same agent are the
reference for values. Where the test needs a device that misbehaves on cue (strays,
a lost first answer, error-status values snmpd will not produce), it is a plain UDP
socket in this test answering with messages built by pysnmp's protocol API: no agent
can be made to do these things on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pysnmp.proto import api  # type: ignore[import-untyped]

import collector.sockets
from collector.snmp.credentials import Credentials
from collector.snmp.oid import Oid, format_oid, is_under, parse_oid
from collector.snmp.snapshot import Kind, Var
from collector.snmp.udp import UdpDispatcher, UdpSession
from collector.snmp.walker import NoSuchName, ResponseTooBig, Varbinds
from tests.integration.test_snmp_snmpd import COMMUNITY, Snmpd, free_udp_port, running_snmpd
from weibao.errors import AuthError, ConnectError, ProtocolError, Timeout

V2C = api.PROTOCOL_MODULES[1]
T = TypeVar("T")

SCALARS = [
    "1.3.6.1.2.1.1.1.0",  # sysDescr
    "1.3.6.1.2.1.1.2.0",  # sysObjectID
    "1.3.6.1.2.1.1.4.0",  # sysContact
    "1.3.6.1.2.1.1.5.0",  # sysName
    "1.3.6.1.2.1.2.1.0",  # ifNumber
    "1.3.6.1.2.1.1.9.9",  # absent: noSuchObject
    "1.3.6.1.2.1.1.1.1",  # absent: noSuchInstance
]
STABLE_COLUMNS = [
    "1.3.6.1.2.1.2.2.1.2",  # ifDescr
    "1.3.6.1.2.1.2.2.1.3",  # ifType
    "1.3.6.1.2.1.2.2.1.4",  # ifMtu
    "1.3.6.1.2.1.2.2.1.5",  # ifSpeed (Gauge32)
    "1.3.6.1.2.1.2.2.1.8",  # ifOperStatus
    "1.3.6.1.2.1.31.1.1.1.1",  # ifName
    "1.3.6.1.2.1.4.20.1.1",  # ipAdEntAddr (IpAddress)
    "1.3.6.1.2.1.25.2.3.1.2",  # hrStorageType (OID)
    "1.3.6.1.2.1.25.2.3.1.3",  # hrStorageDescr
    "1.3.6.1.2.1.1.9.1.2",  # sysORID (OID)
    "1.3.6.1.2.1.1.9.1.4",  # sysORUpTime (TimeTicks)
]
COUNTERS = ["1.3.6.1.2.1.2.2.1.10", "1.3.6.1.2.1.31.1.1.1.6"]  # ifInOctets, ifHCInOctets


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    yield from running_snmpd(tmp_path_factory)


def run(
    scenario: Callable[[UdpDispatcher], Awaitable[T]], receive_buffer: int = 4 << 20
) -> tuple[T, UdpDispatcher]:
    """Run ``scenario`` with a fresh dispatcher on a fresh loop, bounded, then close it."""

    async def main() -> tuple[T, UdpDispatcher]:
        dispatcher = UdpDispatcher(receive_buffer)
        try:
            return await asyncio.wait_for(scenario(dispatcher), 30), dispatcher
        finally:
            dispatcher.close()

    return asyncio.run(main())


async def open_session(
    dispatcher: UdpDispatcher,
    port: int,
    version: str = "2c",
    community: str = COMMUNITY,
    timeout: float = 2.0,
    retries: int = 0,
    host: str = "127.0.0.1",
) -> UdpSession:
    creds = Credentials(version, community=community)
    return await dispatcher.session(creds, host, port, timeout, retries)


def printed(var: Var) -> str:
    """A value as ``snmpget -On -Oq -Oe -Ot`` prints it (quotes stripped)."""
    if var.kind is Kind.missing:
        return "No Such"
    if var.kind is Kind.oid:
        assert isinstance(var.value, tuple)
        return "." + format_oid(var.value)
    if var.kind is Kind.ip:
        assert isinstance(var.value, bytes)
        return socket.inet_ntoa(var.value)
    if var.kind is Kind.octets:
        assert isinstance(var.value, bytes)
        return var.value.decode()
    return str(var.value)


def cli_values(output: str) -> dict[str, str]:
    values = {}
    for line in output.splitlines():
        name, _, value = line.partition(" ")
        value = value.strip().strip('"')
        values[name.lstrip(".")] = "No Such" if value.startswith("No Such") else value
    return values


async def bulk_walk(session: UdpSession, root: str, repetitions: int = 7) -> Varbinds:
    """A column read with GETBULK alone (not the Walker), to test get_bulk itself."""
    top = last = parse_oid(root)
    out: Varbinds = []
    while True:
        page = await session.get_bulk([last], repetitions)
        assert page and len(page) <= repetitions
        for oid, var in page:
            if var.kind is Kind.end or not is_under(oid, top):
                return out
            assert oid > last
            out.append((oid, var))
            last = oid


@pytest.mark.integration
def test_get_and_getnext_values_equal_snmpget(agent: Snmpd) -> None:
    async def scenario(d: UdpDispatcher) -> tuple[Varbinds, Varbinds, Varbinds]:
        s = await open_session(d, agent.port)
        names = [parse_oid(o) for o in SCALARS]
        roots = [(1, 3, 6, 1, 2, 1, 1, 1), (1, 3, 6, 1, 2, 1, 2, 2, 1, 2), (2, 0)]
        return await s.get(names), await s.get_next(roots), await s.get_next([(1, 3)])

    (got, following, first), _ = run(scenario)
    expected = cli_values(agent.cli("snmpget", *SCALARS).stdout)
    assert {format_oid(oid): printed(var) for oid, var in got} == expected
    assert [var.kind for _, var in got[-2:]] == [Kind.missing, Kind.missing]
    assert got[4] == ((1, 3, 6, 1, 2, 1, 2, 1, 0), Var(Kind.integer, int(expected[SCALARS[4]])))
    nexts = cli_values(agent.cli("snmpgetnext", "1.3.6.1.2.1.1.1", "1.3.6.1.2.1.2.2.1.2").stdout)
    assert {format_oid(o): printed(v) for o, v in following[:2]} == nexts
    assert following[2][1] == Var(Kind.end, None)  # past the agent's last OID
    assert first[0][0] == (1, 3, 6, 1, 2, 1, 1, 1, 0)


@pytest.mark.integration
def test_getbulk_walks_equal_snmpbulkwalk(agent: Snmpd) -> None:
    async def scenario(d: UdpDispatcher) -> dict[str, Varbinds]:
        s = await open_session(d, agent.port)
        return {root: await bulk_walk(s, root) for root in STABLE_COLUMNS + COUNTERS}

    before = {root: agent.walk(root) for root in COUNTERS}
    walks, dispatcher = run(scenario)
    after = {root: agent.walk(root) for root in COUNTERS}
    kinds = set()
    for root in STABLE_COLUMNS:
        got = {format_oid(oid)[len(root) + 1 :]: printed(var) for oid, var in walks[root]}
        assert got == agent.walk(root), root
        assert got, f"snmpd has no rows under {root}: pick another column"
        kinds |= {var.kind for _, var in walks[root]}
    assert kinds == {Kind.octets, Kind.integer, Kind.gauge32, Kind.ip, Kind.oid, Kind.ticks}
    for root in COUNTERS:  # they move: ours lies between two snmpbulkwalks
        counters = {format_oid(oid)[len(root) + 1 :]: var for oid, var in walks[root]}
        assert counters.keys() == before[root].keys() == after[root].keys()
        for index, var in counters.items():
            assert var.kind in (Kind.counter32, Kind.counter64)
            assert int(before[root][index]) <= (var.number() or 0) <= int(after[root][index])
    assert dispatcher.stats.timed_out == dispatcher.stats.strays == 0


@pytest.mark.integration
def test_snmpv1_get_getnext_and_nosuchname(agent: Snmpd) -> None:
    async def scenario(d: UdpDispatcher) -> tuple[Varbinds, Varbinds, Exception, Exception]:
        s = await open_session(d, agent.port, version="1")
        good = await s.get([(1, 3, 6, 1, 2, 1, 1, 5, 0)])
        nxt = await s.get_next([(1, 3, 6, 1, 2, 1, 1, 5)])
        with pytest.raises(NoSuchName) as absent:
            await s.get([(1, 3, 6, 1, 2, 1, 1, 5, 0), (1, 3, 6, 1, 2, 1, 1, 9, 9)])
        with pytest.raises(ProtocolError) as bulk:
            await s.get_bulk([(1, 3)], 5)
        return good, nxt, absent.value, bulk.value

    (good, nxt, absent, bulk), _ = run(scenario)
    name = cli_values(agent.cli("snmpget", "1.3.6.1.2.1.1.5.0").stdout)["1.3.6.1.2.1.1.5.0"]
    assert good == nxt == [((1, 3, 6, 1, 2, 1, 1, 5, 0), Var(Kind.octets, name.encode()))]
    assert isinstance(absent, NoSuchName) and absent.index == 1
    assert "noSuchName at 1.3.6.1.2.1.1.9.9" in str(absent)
    assert "SNMPv1 has no GETBULK" in str(bulk)


@pytest.mark.integration
def test_wrong_community_and_closed_port_time_out_quickly_and_clearly(agent: Snmpd) -> None:
    async def scenario(d: UdpDispatcher) -> list[tuple[Exception, float]]:
        out: list[tuple[Exception, float]] = []
        for port, community in ((agent.port, "not-the-community"), (free_udp_port(), COMMUNITY)):
            s = await open_session(d, port, community=community, timeout=0.2, retries=1)
            started = time.monotonic()
            with pytest.raises(Timeout) as caught:
                await s.get([(1, 3, 6, 1, 2, 1, 1, 3, 0)])
            out.append((caught.value, time.monotonic() - started))
        return out

    results, dispatcher = run(scenario)
    for error, elapsed in results:
        # Two attempts of 0.2 s, not the default 5 s: the floor is certain; the ceiling is
        # only a guard against a hang (a loaded machine may be slow, never that slow).
        assert 0.35 < elapsed < 4.0
        assert "no answer from 127.0.0.1:" in str(error)
        assert "within 0.2 s (2 attempt(s))" in str(error)
        assert "community is wrong" in str(error) and "ACL" in str(error)
        assert "not-the-community" not in str(error) and COMMUNITY not in str(error)
    assert dispatcher.stats.resent == 2 and dispatcher.stats.timed_out == 2
    assert dispatcher.in_flight == 0


@pytest.mark.integration
def test_a_thousand_requests_in_flight_are_all_answered(agent: Snmpd) -> None:
    names = [(1, 3, 6, 1, 2, 1, 1, 5, 0), (1, 3, 6, 1, 2, 1, 1, 3, 0)]

    async def scenario(d: UdpDispatcher) -> tuple[int, list[Varbinds], float]:
        # no retry: a single lost request or answer fails the test
        s = await open_session(d, agent.port, timeout=5.0, retries=0)
        started = time.monotonic()
        tasks = [asyncio.ensure_future(s.get(names)) for _ in range(1000)]
        await asyncio.sleep(0)  # every task has sent; no answer was read yet
        peak = d.in_flight
        answers = await asyncio.gather(*tasks)
        return peak, answers, time.monotonic() - started

    (peak, answers, elapsed), dispatcher = run(scenario)
    assert peak == 1000
    assert elapsed < 5.0  # within one request's timeout: nothing was lost and resent
    name = cli_values(agent.cli("snmpget", "1.3.6.1.2.1.1.5.0").stdout)["1.3.6.1.2.1.1.5.0"]
    assert all(a[0] == (names[0], Var(Kind.octets, name.encode())) for a in answers)
    assert all(a[1][1].kind is Kind.ticks for a in answers)
    stats = dispatcher.stats
    assert (stats.sent, stats.answered, stats.resent, stats.timed_out) == (1000, 1000, 0, 0)
    assert dispatcher.in_flight == 0


# -- a device that misbehaves on cue (a UDP socket of the test) ------------------------


class FakeDevice(asyncio.DatagramProtocol):
    """Records requests; the test decides what to answer, and from where."""

    def __init__(self) -> None:
        self.requests: asyncio.Queue[tuple[bytes, tuple[Any, ...]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.requests.put_nowait((data, addr))

    def send(self, data: bytes, addr: tuple[Any, ...]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


@contextlib.asynccontextmanager
async def fake_device(host: str = "127.0.0.1") -> AsyncIterator[FakeDevice]:
    loop = asyncio.get_running_loop()
    transport, device = await loop.create_datagram_endpoint(FakeDevice, local_addr=(host, 0))
    try:
        yield device
    finally:
        transport.close()


def answer(
    request: bytes,
    binds: list[tuple[Oid, Any]],
    status: int = 0,
    index: int = 0,
    community: bytes = COMMUNITY.encode(),
    request_id: int | None = None,
) -> bytes:
    """A v2c Response to ``request`` built by pysnmp (values as pysnmp objects)."""
    message, _ = decoder.decode(request, asn1Spec=V2C.Message())
    asked = V2C.apiMessage.get_pdu(message)
    pdu = V2C.GetResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    rid = V2C.apiPDU.get_request_id(asked) if request_id is None else request_id
    V2C.apiPDU.set_request_id(pdu, rid)
    V2C.apiPDU.set_error_status(pdu, status)
    V2C.apiPDU.set_error_index(pdu, index)
    V2C.apiPDU.set_varbinds(pdu, binds)
    reply = V2C.Message()
    V2C.apiMessage.set_defaults(reply)
    V2C.apiMessage.set_community(reply, community)
    V2C.apiMessage.set_pdu(reply, pdu)
    return bytes(encoder.encode(reply))


UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def test_strays_are_counted_and_ignored() -> None:
    async def scenario(d: UdpDispatcher) -> Varbinds:
        async with fake_device() as device:
            s = await open_session(d, device.port)
            pending = asyncio.ensure_future(s.get([UPTIME]))
            request, client = await device.requests.get()
            good = answer(request, [(UPTIME, V2C.TimeTicks(42))])
            loop = asyncio.get_running_loop()
            imposter, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
            )
            forged = answer(request, [(UPTIME, V2C.TimeTicks(666))])
            imposter.sendto(forged, client)  # right request-id, wrong source port
            imposter.close()
            device.send(answer(request, [(UPTIME, V2C.TimeTicks(1))], request_id=7), client)
            device.send(answer(request, [(UPTIME, V2C.TimeTicks(2))], community=b"other"), client)
            device.send(b"\x30\x03\x02\x01", client)  # not SNMP at all
            device.send(good, client)
            result = await pending
            device.send(good, client)  # a duplicate after the request completed
            while d.stats.strays < 4:
                await asyncio.sleep(0.01)
            return result

    result, dispatcher = run(scenario)
    assert result == [(UPTIME, Var(Kind.ticks, 42))]
    assert dispatcher.stats.strays == 4 and dispatcher.stats.malformed == 1
    assert dispatcher.stats.answered == 1


def test_a_lost_answer_is_retried_with_the_same_request_id() -> None:
    async def scenario(d: UdpDispatcher) -> tuple[Varbinds, bytes, bytes]:
        async with fake_device() as device:
            s = await open_session(d, device.port, timeout=0.2, retries=2)
            pending = asyncio.ensure_future(s.get([UPTIME]))
            first, _ = await device.requests.get()  # "lost"
            second, client = await device.requests.get()
            device.send(answer(second, [(UPTIME, V2C.TimeTicks(5))]), client)
            return await pending, first, second

    (result, first, second), dispatcher = run(scenario)
    assert result == [(UPTIME, Var(Kind.ticks, 5))]
    assert first == second  # a late answer to the first attempt would count too
    assert dispatcher.stats.resent == 1 and dispatcher.in_flight == 0


@pytest.mark.parametrize(
    ("status", "index", "kind", "words"),
    [
        (1, 0, ResponseTooBig, "answered tooBig for 2 OIDs"),
        (5, 2, ProtocolError, "answered genErr at 1.3.6.1.2.1.1.5.0"),
        (16, 1, AuthError, "refused access (authorizationError at 1.3.6.1.2.1.1.3.0)"),
    ],
)
def test_error_status_becomes_our_errors(
    status: int, index: int, kind: type[Exception], words: str
) -> None:
    names: list[Oid] = [UPTIME, (1, 3, 6, 1, 2, 1, 1, 5, 0)]

    async def scenario(d: UdpDispatcher) -> Exception:
        async with fake_device() as device:
            s = await open_session(d, device.port)
            pending = asyncio.ensure_future(s.get(names))
            request, client = await device.requests.get()
            binds = [(oid, V2C.Null("")) for oid in names]
            device.send(answer(request, binds, status=status, index=index), client)
            with pytest.raises(kind) as caught:
                await pending
            return caught.value

    error, _ = run(scenario)
    assert words in str(error) and COMMUNITY not in str(error)


def test_an_unreadable_answer_fails_its_request_at_once() -> None:
    async def scenario(d: UdpDispatcher) -> tuple[Exception, float]:
        async with fake_device() as device:
            s = await open_session(d, device.port, timeout=5.0)
            pending = asyncio.ensure_future(s.get([UPTIME]))
            request, client = await device.requests.get()
            started = time.monotonic()
            broken = bytearray(answer(request, [(UPTIME, V2C.TimeTicks(5))]))
            broken[-3] = 0x05  # the TimeTicks becomes a NULL of length 1
            device.send(bytes(broken), client)
            with pytest.raises(ProtocolError) as caught:
                await pending
            return caught.value, time.monotonic() - started

    (error, elapsed), _ = run(scenario)
    assert elapsed < 4.0  # failed on the answer, not after the 5 s timeout
    assert "sent an unreadable answer: varbind 1: NULL (0x05)" in str(error)


def test_ipv6_and_a_request_given_up_leaves_nothing_behind() -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback (::1) on this machine")

    async def scenario(d: UdpDispatcher) -> tuple[Varbinds, int]:
        async with fake_device("::1") as device:
            s = await open_session(d, device.port, host="::1")
            pending = asyncio.ensure_future(s.get([UPTIME]))
            request, client = await device.requests.get()
            device.send(answer(request, [(UPTIME, V2C.TimeTicks(9))]), client)
            result = await pending
            with pytest.raises(TimeoutError):  # the walker's budget gives up on a request
                await asyncio.wait_for(s.get([UPTIME]), 0.05)
            return result, d.in_flight

    (result, left), _ = run(scenario)
    assert result == [(UPTIME, Var(Kind.ticks, 9))]
    assert left == 0


def test_a_refused_receive_buffer_is_reported(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rmem_max = Path("/proc/sys/net/core/rmem_max")
    if not rmem_max.exists():
        pytest.skip("needs Linux's net.core.rmem_max")
    limit = int(rmem_max.read_text())

    async def scenario(d: UdpDispatcher) -> None:
        await open_session(d, 9)

    # as a collector without CAP_NET_ADMIN: SO_RCVBUF alone, capped at rmem_max
    monkeypatch.setattr(collector.sockets, "_SO_RCVBUFFORCE", None)
    with caplog.at_level(logging.WARNING, logger="collector.snmp.udp"):
        run(scenario, receive_buffer=limit)
        assert not caplog.records  # what rmem_max allows is granted
        run(scenario, receive_buffer=limit * 4)
    (record,) = caplog.records
    assert record.getMessage() == "snmp.udp.receive_buffer_small"
    fields = record.__dict__["fields"]  # what weibao.logs.log_event attaches
    assert "net.core.rmem_max" in fields["hint"]
    assert fields["granted"] < fields["requested"] == limit * 4


def test_closing_the_transport_ends_requests_with_a_connect_error() -> None:
    async def scenario(d: UdpDispatcher) -> tuple[Exception, Exception]:
        async with fake_device() as device:
            s = await open_session(d, device.port, timeout=5.0)
            pending = asyncio.ensure_future(s.get([UPTIME]))
            await device.requests.get()
            d.close()  # the driver shuts down while a request is in flight
            with pytest.raises(ConnectError) as during:
                await pending
            with pytest.raises(ConnectError) as after:  # a session kept past close()
                await s.get([UPTIME])
            return during.value, after.value

    (during, after), dispatcher = run(scenario)
    assert "the SNMP transport was closed" in str(during) == str(after)
    assert dispatcher.in_flight == 0
