"""The receiver over loopback UDP with SNMP messages built here (net-snmp's own
``snmptrap`` is in tests/integration/test_traps_snmptrap.py): who may send, what is
dropped and counted, re-sending, state across restarts, and the way to the sink."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyasn1.codec.ber import encoder  # type: ignore[import-untyped]

from collector.traps import listener
from collector.traps.forward import SerializedSink, TrapForwarder
from collector.traps.listener import ListenError
from collector.traps.receiver import TrapReceiver
from tests.collector.conftest import inventory
from tests.collector.test_runner import aio
from weibao.clock import FrozenClock
from weibao.inventory.model import DeviceContext
from weibao.logs import LineFormatter
from weibao.observation import Observation, Source

v2c: Any = vars(listener)["v2c"]  # pysnmp's message API, as the listener imported it
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ENV = {"SW1_COMMUNITY": "sw1-secret", "SW2_COMMUNITY": "sw2-secret"}
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"


def contexts(*extra: dict[str, Any]) -> list[DeviceContext]:
    return inventory(
        {
            "name": "sw1",
            "kind": "switch",
            "address": "127.0.0.1",
            "inspect": {"snmp": {"community": "env:SW1_COMMUNITY"}},
        },
        *extra,
    ).contexts()


def message(community: str, oid: str, *varbinds: tuple[str, Any], pdu: Any = None) -> bytes:
    pdu = pdu if pdu is not None else v2c.SNMPv2TrapPDU()
    v2c.apiTrapPDU.set_defaults(pdu)
    items = [
        (v2c.ObjectIdentifier("1.3.6.1.2.1.1.3.0"), v2c.TimeTicks(4200)),
        (v2c.ObjectIdentifier("1.3.6.1.6.3.1.1.4.1.0"), v2c.ObjectIdentifier(oid)),
    ]
    items += [(v2c.ObjectIdentifier(name), value) for name, value in varbinds]
    v2c.apiTrapPDU.set_varbinds(pdu, items)
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return bytes(encoder.encode(msg))


def link_down(community: str, port: int) -> bytes:
    return message(
        community,
        LINK_DOWN,
        (f"1.3.6.1.2.1.2.2.1.1.{port}", v2c.Integer(port)),
        (f"1.3.6.1.2.1.31.1.1.1.1.{port}", v2c.OctetString(f"Gi0/{port}")),
    )


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log as the collector writes it (fields included, secrets redacted)."""
    return [LineFormatter().format(rec) for rec in caplog.records]


def send(port: int, datagram: bytes, source: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.sendto(datagram, ("127.0.0.1", port))


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


class Running:
    def __init__(self, receiver: TrapReceiver, got: list[Observation]) -> None:
        self.receiver = receiver
        self.got = got
        self.port = receiver.addresses[0][1]

    async def send(self, datagram: bytes, source: str = "127.0.0.1", expect: int = 0) -> None:
        """Send, then wait until the receiver has counted it (and ``expect`` observations)."""
        before = self.receiver.stats.received
        send(self.port, datagram, source)
        await until(lambda: self.receiver.stats.received > before, "the datagram")
        await until(lambda: len(self.got) >= expect, f"{expect} observation(s)")


@asynccontextmanager
async def running(
    ctxs: Sequence[DeviceContext] | None = None,
    clock: FrozenClock | None = None,
    state_file: Path | None = None,
    on_observation: Callable[[Observation], None] | None = None,
) -> AsyncIterator[Running]:
    got: list[Observation] = []
    receiver = TrapReceiver(
        ctxs if ctxs is not None else contexts(),
        on_observation or got.append,
        listen=[("127.0.0.1", 0)],
        clock=clock or FrozenClock(START),
        state_file=state_file,
        refresh=3600,  # the tests call tick() themselves
        environ=ENV,
    )
    await receiver.start()
    try:
        yield Running(receiver, got)
    finally:
        await receiver.stop()


@aio
async def test_a_trap_with_the_devices_community_becomes_its_observation() -> None:
    async with running() as r:
        await r.send(link_down("sw1-secret", 3), expect=1)
    [obs] = r.got
    assert (obs.device, obs.source, obs.time) == ("sw1", Source.trap, START)
    assert [(s.name, s.labels, s.value) for s in obs.samples] == [
        ("trap_link_up", {"interface": "Gi0/3"}, 0.0)
    ]
    assert obs.meta["trap"] == "linkDown" and obs.meta["security"] == "SNMPv2c community"
    assert "sw1-secret" not in obs.model_dump_json()
    assert r.receiver.stats.accepted == 1


@aio
async def test_a_device_quoting_its_own_community_in_a_varbind_has_it_hidden() -> None:
    # Some devices put the community of a failed request into their trap.
    quoted = ("1.3.6.1.4.1.2011.5.25.1.1", v2c.OctetString("sw1-secret"))
    quoting = message("sw1-secret", "1.3.6.1.4.1.2011.5.25.0.9", quoted)
    async with running() as r:
        await r.send(quoting, expect=1)
    dumped = r.got[0].model_dump_json()
    assert "sw1-secret" not in dumped and "***" in r.got[0].meta["varbinds"]


@aio
async def test_a_wrong_community_is_dropped_counted_and_logged_without_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "weibao.traps")
    sw2 = {
        "name": "sw2",
        "kind": "switch",
        "address": "127.0.0.4",
        "inspect": {"snmp": {"community": "env:SW2_COMMUNITY"}},
    }
    async with running(contexts(sw2)) as r:
        await r.send(link_down("sw2-secret", 3))  # another device's community
        await r.send(link_down("guess", 3))
        await r.send(link_down("sw1-secret", 4), expect=1)
    assert r.receiver.stats.bad_community == 2
    assert [o.samples[0].labels["interface"] for o in r.got] == ["Gi0/4"]
    log = lines(caplog)
    assert sum("trap.wrong_community" in line for line in log) == 1  # throttled
    assert "device=sw1" in log[0] and "version=2c" in log[0]
    assert not any("secret" in line or "guess" in line for line in log)


@aio
async def test_traps_from_no_inventory_device_are_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "weibao.traps")
    async with running() as r:
        for _ in range(3):
            await r.send(link_down("sw1-secret", 1), source="127.0.0.2")
    assert r.got == [] and r.receiver.stats.unknown_source == 3
    log = [line for line in lines(caplog) if "unknown_source" in line]
    assert len(log) == 1 and "address=127.0.0.2" in log[0]


@aio
async def test_devices_sharing_an_address_are_told_apart_by_community() -> None:
    sw2 = {
        "name": "sw2",
        "kind": "switch",
        "address": "127.0.0.1",
        "inspect": {"snmp": {"community": "env:SW2_COMMUNITY"}},
    }
    async with running(contexts(sw2)) as r:
        await r.send(link_down("sw2-secret", 1), expect=1)
        await r.send(link_down("sw1-secret", 1), expect=2)
    assert [o.device for o in r.got] == ["sw2", "sw1"]


@aio
async def test_what_is_not_a_notification_is_counted() -> None:
    get = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(get)
    async with running() as r:
        await r.send(b"\x30\x03\x02\x01")  # not BER we can read
        await r.send(message("sw1-secret", LINK_DOWN, pdu=get))
    stats = r.receiver.stats
    assert (stats.malformed, stats.not_notification, stats.accepted) == (1, 1, 0)


@aio
async def test_an_inform_is_answered_and_kept() -> None:
    inform = v2c.InformRequestPDU()
    async with running() as r:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(5)
            sock.sendto(
                message("sw1-secret", "1.3.6.1.6.3.1.1.5.5", pdu=inform), ("127.0.0.1", r.port)
            )
            answer = await asyncio.to_thread(sock.recv, 65535)
        await until(lambda: len(r.got) == 1, "the inform")
    assert answer and r.got[0].meta["inform"] == "true"
    assert [(s.name, s.value) for s in r.got[0].samples] == [("trap_auth_failures", 1.0)]


@aio
async def test_an_unreadable_secret_is_named_never_guessed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "weibao.traps")
    sw3 = {
        "name": "sw3",
        "kind": "switch",
        "address": "127.0.0.3",
        "inspect": {"snmp": {"community": "env:SW3_COMMUNITY"}},
    }
    async with running(contexts(sw3)) as r:
        await r.send(link_down("x", 1), source="127.0.0.3")
    assert r.receiver.stats.secret_unreadable == 1
    assert any("secret env:SW3_COMMUNITY cannot be read" in line for line in lines(caplog))


@aio
async def test_open_faults_are_sent_again_so_rules_with_for_see_them() -> None:
    clock = FrozenClock(START)
    async with running(clock=clock) as r:
        await r.send(link_down("sw1-secret", 1), expect=1)
        clock.advance(timedelta(seconds=61))
        assert r.receiver.tick() == 1
        clock.advance(timedelta(minutes=15))
        assert r.receiver.tick() == 0  # no longer young: only new traps report it
    refresh = r.got[1]
    assert refresh.meta == {"trap_refresh": "true"} and refresh.time == START + timedelta(
        seconds=61
    )
    assert [(s.labels["interface"], s.value) for s in refresh.samples] == [("Gi0/1", 0.0)]
    assert r.receiver.stats.refreshed == 1


@aio
async def test_the_trap_state_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "trap-state.json"
    async with running(state_file=state_file) as r:
        await r.send(link_down("sw1-secret", 1), expect=1)
    assert "Gi0/1" in state_file.read_text() and "sw1-secret" not in state_file.read_text()
    async with running(state_file=state_file) as r:
        await r.send(link_down("sw1-secret", 2), expect=1)
    assert [s.labels["interface"] for s in r.got[0].samples] == ["Gi0/1", "Gi0/2"]
    assert json.loads(state_file.read_text())["version"] == 1


@aio
async def test_a_failing_callback_is_counted_and_the_socket_stays_open() -> None:
    got: list[Observation] = []

    def flaky(obs: Observation) -> None:
        if not got:
            got.append(obs)
            raise RuntimeError("bug in the caller")
        got.append(obs)

    async with running(on_observation=flaky) as r:
        await r.send(link_down("sw1-secret", 1))
        await r.send(link_down("sw1-secret", 2))
    assert len(got) == 2 and r.receiver.stats.callback_errors == 1


@aio
async def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        receiver = TrapReceiver(contexts(), print, listen=[("127.0.0.1", port)], environ=ENV)
        with pytest.raises(ListenError, match=f"cannot listen for traps on 127.0.0.1:{port}"):
            await receiver.start()
        await receiver.stop()


@aio
async def test_ipv6_loopback_works_too() -> None:
    ctxs = inventory(
        {
            "name": "sw6",
            "kind": "switch",
            "address": "::1",
            "inspect": {"snmp": {"community": "env:SW1_COMMUNITY"}},
        }
    ).contexts()
    got: list[Observation] = []
    receiver = TrapReceiver(ctxs, got.append, listen=[("::1", 0)], environ=ENV)
    [(_, port)] = await receiver.start()
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.sendto(link_down("sw1-secret", 1), ("::1", port))
        await until(lambda: len(got) == 1, "the IPv6 trap")
    finally:
        await receiver.stop()
    assert got[0].device == "sw6" and got[0].meta["source_address"] == "::1"


class SlowSink:
    def __init__(self) -> None:
        self.batches: list[list[Observation]] = []
        self.inside = 0
        self.overlapped = False

    async def deliver(self, observations: Sequence[Observation]) -> None:
        self.inside += 1
        self.overlapped = self.overlapped or self.inside > 1
        await asyncio.sleep(0.01)
        self.batches.append(list(observations))
        self.inside -= 1


def obs(n: int) -> Observation:
    return Observation(device=f"sw{n}", source=Source.trap, time=START)


@aio
async def test_the_forwarder_is_bounded_and_delivers_in_batches() -> None:
    sink = SlowSink()
    forwarder = TrapForwarder(sink, max_queue=3)
    for n in range(5):
        forwarder.put(obs(n))
    forwarder.close()
    await asyncio.wait_for(forwarder.run(), 5)
    assert forwarder.dropped == 2
    assert [o.device for batch in sink.batches for o in batch] == ["sw2", "sw3", "sw4"]


@aio
async def test_scheduler_and_traps_take_turns_at_one_sink() -> None:
    sink = SlowSink()
    shared = SerializedSink(sink)
    await asyncio.gather(*(shared.deliver([obs(n)]) for n in range(4)))
    assert len(sink.batches) == 4 and not sink.overlapped
