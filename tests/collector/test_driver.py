"""The driver's promises: a result for every device, clear reasons, rates across polls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collector.driver import Depth, DriverRegistry
from collector.snmp.driver import SnmpDriver
from collector.snmp.oid import Oid
from collector.snmp.snapshot import Kind, Snapshot, Var
from tests.collector.conftest import inventory
from tests.collector.fakes import Behaviour, SnapshotPool
from weibao.errors import AuthError, InspectionError, Timeout
from weibao.inventory.model import DeviceContext

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
ENV = {"COMMUNITY": "public", "AUTH": "authpass123", "PRIV": "privpass123"}
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
IF = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)


def switch(uptime: int, in_errors: int, hc_in: int) -> Snapshot:
    items: list[tuple[Oid, Var]] = [
        ((1, 3, 6, 1, 2, 1, 1, 1, 0), Var(Kind.octets, b"test switch")),
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), Var(Kind.oid, (1, 3, 6, 1, 4, 1, 99999, 1))),
        (SYS_UPTIME, Var(Kind.ticks, uptime)),
        ((*IF, 2, 1), Var(Kind.octets, b"ge1")),
        ((*IF, 5, 1), Var(Kind.gauge32, 1_000_000_000)),
        ((*IF, 7, 1), Var(Kind.integer, 1)),
        ((*IF, 8, 1), Var(Kind.integer, 1)),
        ((*IF, 14, 1), Var(Kind.counter32, in_errors)),
        ((*IFX, 6, 1), Var(Kind.counter64, hc_in)),
    ]
    return Snapshot(items)


def device(**snmp: Any) -> dict[str, Any]:
    return {
        "name": "sw1",
        "kind": "switch",
        "address": "192.0.2.1",
        "inspect": {"snmp": {"community": "env:COMMUNITY", **snmp}},
    }


def context(**snmp: Any) -> DeviceContext:
    return inventory(device(**snmp)).contexts()[0]


def run(
    driver: SnmpDriver, ctx: DeviceContext, at: datetime = T0, depth: Depth = Depth.health
) -> Any:
    return asyncio.run(driver.inspect(ctx, depth, at))


def test_rates_come_from_two_inspections() -> None:
    pool = SnapshotPool({"192.0.2.1": switch(100_000, 10, 0)})
    driver = SnmpDriver(pool=pool, environ=ENV)
    first = run(driver, context()).observation
    assert first.ok and first.value("up") == 1
    assert first.value("interface_errors_rate", interface="ge1", direction="in") is None
    pool.devices["192.0.2.1"] = switch(106_000, 70, 7_500_000_000)
    second = run(driver, context(), T0 + timedelta(seconds=60)).observation
    assert second.value("interface_errors_rate", interface="ge1", direction="in") == 1.0
    assert second.value("interface_bits_rate", interface="ge1", direction="in") == 1e9
    assert second.value("interface_utilization_ratio", interface="ge1", direction="in") == 1.0


def test_a_restart_gives_no_rates_and_says_so() -> None:
    pool = SnapshotPool({"192.0.2.1": switch(100_000, 10, 5000)})
    driver = SnmpDriver(pool=pool, environ=ENV)
    run(driver, context())
    pool.devices["192.0.2.1"] = switch(3000, 0, 0)  # rebooted: counters start again
    second = run(driver, context(), T0 + timedelta(seconds=60)).observation
    assert second.meta["restarted"] == "true"
    assert not second.values("interface_errors_rate")
    assert second.value("uptime_seconds") == 30


def test_a_dead_device_is_a_failed_result_with_up_0() -> None:
    driver = SnmpDriver(pool=SnapshotPool({}), environ=ENV)
    result = run(driver, context())
    assert result.failed and isinstance(result.error, Timeout)
    assert result.observation.value("up") == 0
    assert result.observation.meta["error_kind"] == "timeout"
    assert not result.observation.ok and "fake" in (result.observation.error or "")


def test_a_wrong_community_times_out_like_a_dead_device() -> None:
    pool = SnapshotPool({"192.0.2.1": switch(1, 0, 0)}, Behaviour(community="other"))
    result = run(SnmpDriver(pool=pool, environ=ENV), context())
    assert isinstance(result.error, Timeout)


def test_a_wrong_v3_key_is_an_auth_error() -> None:
    pool = SnapshotPool({"192.0.2.1": switch(1, 0, 0)})
    ctx = inventory(
        {
            **device(),
            "inspect": {
                "snmp": {
                    "version": 3,
                    "user": "weibao",
                    "auth_protocol": "sha256",
                    "auth_key": "env:AUTH",
                }
            },
        }
    ).contexts()[0]
    result = run(SnmpDriver(pool=pool, environ={**ENV, "AUTH": "wrong"}), ctx)
    assert isinstance(result.error, AuthError)
    assert result.observation.meta["error_kind"] == "auth"


def test_a_missing_secret_names_the_reference_never_a_value() -> None:
    result = run(SnmpDriver(pool=SnapshotPool({}), environ={}), context())
    assert result.failed and type(result.error) is InspectionError
    assert "env:COMMUNITY" in str(result.error)
    assert result.observation.meta["error_kind"] == "config"


def test_the_budget_covers_the_whole_inspection() -> None:
    pool = SnapshotPool({"192.0.2.1": switch(1, 0, 0)}, Behaviour(delay=0.05))
    driver = SnmpDriver(pool=pool, environ=ENV, budget=lambda ctx, depth: timedelta(seconds=0.12))
    result = run(driver, context())
    assert isinstance(result.error, Timeout)
    assert "time budget ran out" in str(result.error)
    assert result.observation.value("up") == 1  # it answered, just not fast enough


def test_default_budget_follows_the_health_interval() -> None:
    from collector.snmp.driver import default_budget

    ctx = inventory(device(), interval="30s").contexts()[0]
    assert default_budget(ctx, Depth.health) == timedelta(seconds=27)
    assert default_budget(ctx, Depth.full) == timedelta(minutes=15)


def test_a_bug_in_a_reader_is_a_failed_result_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    from collector.snmp.readers.interfaces import InterfacesReader

    def broken(self: object, ctx: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(InterfacesReader, "read", broken)
    pool = SnapshotPool({"192.0.2.1": switch(1, 0, 0)})
    result = run(SnmpDriver(pool=pool, environ=ENV), context())
    assert result.failed and "ZeroDivisionError: boom" in str(result.error)


def test_weak_protocols_are_reported_not_refused() -> None:
    pool = SnapshotPool({"192.0.2.1": switch(1, 0, 0)})
    o = run(SnmpDriver(pool=pool, environ=ENV), context()).observation
    assert o.ok and o.value("snmp_weak_security") == 1
    assert "clear text" in o.meta["weak"]


def test_a_device_without_snmp_is_a_failed_result() -> None:
    ctx = inventory({"name": "pc1", "kind": "server"}).contexts()[0]
    result = run(SnmpDriver(pool=SnapshotPool({}), environ=ENV), ctx)
    assert result.failed and "no SNMP inspection" in str(result.error)


def test_the_driver_registers_by_name() -> None:
    registry = DriverRegistry()
    registry.register("snmp", lambda: SnmpDriver(pool=SnapshotPool({})))
    assert registry.create("snmp").name == "snmp"
