"""The Ruijie, FortiGate, iBMC, iDRAC and OceanStor profiles on real device recordings.

Every expected value is read from the recording's own lines here (not typed in), so a
profile that reads the wrong column, scale or enumeration fails. Then each profile meets
a fault: one status line of an in-memory copy of the recording is changed (a fan stops,
a disk fails, a pool fills), the driver inspects the copy over time, and the default rule
pack must raise exactly the alarms the fault means, at the contract's level. The
recordings are LibreNMS test data (GPL-3.0), read in place and never copied.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

import rules
from collector.driver import Depth
from collector.snmp.driver import SnmpDriver
from collector.snmp.oid import parse_oid
from collector.snmp.snapshot import Snapshot
from collector.snmp.snmprec import parse_line
from rules.api import EngineState
from rules.engine import RuleEngine
from tests.collector.fakes import SnapshotPool
from tests.collector.recordings import recordings_dir
from tests.rules.conftest import make_inventory
from weibao.inventory.model import SnmpInspection
from weibao.observation import Observation

T0 = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # a Wednesday morning: no maintenance window
SNMP = SnmpInspection(version="2c", community="env:WEIBAO_TEST_COMMUNITY")
ENV = {"WEIBAO_TEST_COMMUNITY": "public"}
DEVICE = "dev1"


class Recording:
    """A recording's lines by OID (leading dots dropped), and changed copies of it."""

    def __init__(self, name: str) -> None:
        path = recordings_dir() / f"{name}.snmprec"
        self.lines = [
            line.rstrip("\r")
            for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
            if line.strip()
        ]
        self.values: dict[str, str] = {}
        for line in self.lines:
            oid, _, value = line.split("|", 2)
            self.values[oid.lstrip(".")] = value

    def value(self, oid: str) -> str:
        return self.values[oid]

    def column(self, oid: str) -> dict[str, str]:
        """Row index (dotted) -> value of every line under ``oid``, in the file's order."""
        prefix = oid + "."
        return {k[len(prefix) :]: v for k, v in self.values.items() if k.startswith(prefix)}

    def snapshot(self, changes: dict[str, str] | None = None) -> Snapshot:
        """The recording as a Snapshot, with ``changes`` (OID -> new value) applied."""
        changes = dict(changes or {})
        items = []
        for line in self.lines:
            oid, tag, value = line.split("|", 2)
            value = changes.pop(oid.lstrip("."), value)
            items.append(parse_line(f"{oid}|{tag}|{value}"))
        assert not changes, f"not in the recording: {sorted(changes)}"
        return Snapshot(items)


def inspect(
    snapshot: Snapshot,
    when: datetime = T0,
    driver: SnmpDriver | None = None,
    kind: str | None = None,
) -> Observation:
    driver = driver or SnmpDriver(pool=SnapshotPool({DEVICE: snapshot}), environ=ENV)
    result = asyncio.run(driver.inspect_target(DEVICE, DEVICE, SNMP, kind, Depth.full, when, 10.0))
    assert not result.failed, result.observation.error
    return result.observation


def by_label(o: Observation, name: str, label: str) -> dict[str, float]:
    return {s.labels[label]: s.value for s in o.values(name)}


def identity(o: Observation) -> tuple[str, ...]:
    return tuple(o.meta.get(k, "") for k in ("profile", "kind", "vendor", "model", "version"))


def named(rec: Recording, status: str, names: str, ok: dict[str, float]) -> dict[str, float]:
    """name -> expected 0/1 for the rows of a status column whose value ``ok`` knows."""
    labels = rec.column(names)
    return {labels[row].strip(): ok[v] for row, v in rec.column(status).items() if v in ok}


Alarm = tuple[str, str, tuple[tuple[str, str], ...]]
KEYS = ("fan", "psu", "disk", "sensor", "cpu", "module", "controller", "pool", "array")


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    return rules.load_engine()


def alarms_of(engine: RuleEngine, snapshot: Snapshot, kind: str, minutes: int) -> set[Alarm]:
    """(rule, level, labels) of the alarms active after inspecting every minute."""
    device = {"name": DEVICE, "kind": kind, "address": "192.0.2.10"}
    inventory = make_inventory([{**device, "inspect": {"snmp": SNMP.model_dump(mode="json")}}])
    driver = SnmpDriver(pool=SnapshotPool({DEVICE: snapshot}), environ=ENV)
    state, active = EngineState(), {}
    for minute in range(minutes + 1):
        when = T0 + timedelta(minutes=minute)
        evaluation = engine.evaluate(state, [inspect(snapshot, when, driver)], when, inventory)
        state = evaluation.state
        active.update({a.fingerprint: a for a in evaluation.firing})
        for gone in evaluation.cleared:
            active.pop(gone.fingerprint, None)
    driver.close()
    return {(a.rule, a.level.value, tuple(sorted(a.labels.items()))) for a in active.values()}


def alarm(rule: str, level: str, **labels: str) -> Alarm:
    return rule, level, tuple(sorted(labels.items()))


def new_alarms(
    engine: RuleEngine, rec: Recording, changes: dict[str, str], kind: str, minutes: int
) -> set[Alarm]:
    """The alarms the changed recording raises that the recording as it is does not."""

    def part(found: set[Alarm]) -> set[Alarm]:
        return {(r, lv, tuple((k, v) for k, v in labels if k in KEYS)) for r, lv, labels in found}

    healthy = alarms_of(engine, rec.snapshot(), kind, minutes)
    return part(alarms_of(engine, rec.snapshot(changes), kind, minutes)) - part(healthy)


# ---------------------------------------------------------------- Ruijie

RUIJIE = "1.3.6.1.4.1.4881.1.1.10.2"
RUIJIE_FAN = f"{RUIJIE}.1.1.43.1.4"  # ruijieSystemFanStatus
RUIJIE_PSU = f"{RUIJIE}.1.1.41.1.3"  # ruijieSystemElectricalInformationStatus
RUIJIE_OK = {"2": 0.0, "3": 1.0, "4": 1.0, "5": 0.0}  # noexist(1), unknow(6): no sample


def test_ruijie_s6150_health_from_the_ruijie_mibs() -> None:
    rec = Recording("ruijie-ruijie_s6150")
    o = inspect(rec.snapshot())
    model = re.search(r"\(([\w-]+)\)", rec.value("1.3.6.1.2.1.1.1.0"))
    sw = rec.value(f"{RUIJIE}.21.1.2.1.8.1")  # "S6150-X_RGOS 12.6(3)B1303P1, Release(...)"
    assert model and "RGOS " in sw
    version = sw.split("RGOS ", 1)[1].split(",")[0]
    assert identity(o) == ("ruijie", "switch", "Ruijie", model.group(1), version)
    assert o.meta["serial"] == rec.value(f"{RUIJIE}.21.1.2.1.10.1")

    fans = {"/".join(row.split(".")): RUIJIE_OK[v] for row, v in rec.column(RUIJIE_FAN).items()}
    assert len(fans) == 4 and by_label(o, "fan_ok", "fan") == fans
    psus = {
        "/".join(row.split(".")): RUIJIE_OK[v]
        for row, v in rec.column(RUIJIE_PSU).items()
        if v in RUIJIE_OK
    }
    assert psus == {"1/1": 1.0}  # the second supply slot is empty: noexist(1), no sample
    assert by_label(o, "power_supply_ok", "psu") == psus
    names = rec.column(f"{RUIJIE}.1.1.44.1.4")  # ruijieSystemMultipleTemperatureName
    temps = {names[r].strip(): float(v) for r, v in rec.column(f"{RUIJIE}.1.1.44.1.5").items()}
    assert len(temps) == 5 and by_label(o, "temperature_celsius", "sensor") == temps
    cpu = max(int(v) for v in rec.column(f"{RUIJIE}.36.1.2.1.4").values())  # per-node 1-min %
    assert o.value("cpu_usage_ratio") == cpu / 100
    assert o.value("memory_usage_ratio") is None  # only ruijieMemoryPoolUsed: no size, no ratio


def test_ruijie_without_its_vendor_tables_is_still_identified() -> None:
    rec = Recording("ruijie-ruijie")
    assert not any(oid.startswith("1.3.6.1.4.1.4881.") for oid in rec.values)
    o = inspect(rec.snapshot())
    model = re.search(r"\(([\w-]+)\)", rec.value("1.3.6.1.2.1.1.1.0"))
    assert model and identity(o)[:4] == ("ruijie", "switch", "Ruijie", model.group(1))
    assert not o.values("fan_ok") and o.value("cpu_usage_ratio") is None
    names = rec.column("1.3.6.1.2.1.31.1.1.1.1")  # ifName
    up = next(i for i, v in rec.column("1.3.6.1.2.1.2.2.1.8").items() if v == "1")
    assert o.value("interface_up", interface=names[up]) == 1


def test_ruijie_failed_fan_raises_fan_failed(engine: RuleEngine) -> None:
    rec = Recording("ruijie-ruijie_s6150")
    changes = {f"{RUIJIE_FAN}.1.2.1": "5"}  # fan 2: powerbutabnormal
    assert inspect(rec.snapshot(changes)).value("fan_ok", fan="1/2/1") == 0
    got = new_alarms(engine, rec, changes, "switch", minutes=3)
    assert got == {alarm("fan_failed", "II", fan="1/2/1")}


# ---------------------------------------------------------------- FortiGate

FG_SENSOR = "1.3.6.1.4.1.12356.101.4.3.2.1"  # fgHwSensorEntry: 2 name, 3 value, 4 alarm


@pytest.mark.parametrize("name", ["firewall-fortigate_60f", "firewall-fortigate_100e"])
def test_fortigate_system_and_sensors(name: str) -> None:
    rec = Recording(name)
    o = inspect(rec.snapshot())
    version = re.match(r"v[\d.]+,build\d+", rec.value("1.3.6.1.4.1.12356.101.4.1.1.0"))
    model = rec.value("1.3.6.1.2.1.47.1.1.1.1.13.1")  # entPhysicalModelName
    assert version and identity(o) == ("fortigate", "firewall", "Fortinet", model, version[0])
    assert o.meta["serial"] == rec.value("1.3.6.1.2.1.47.1.1.1.1.11.1")
    assert o.value("cpu_usage_ratio") == int(rec.value("1.3.6.1.4.1.12356.101.4.1.3.0")) / 100
    assert o.value("memory_usage_ratio") == int(rec.value("1.3.6.1.4.1.12356.101.4.1.4.0")) / 100
    names = rec.column(f"{FG_SENSOR}.2")
    temps = {
        names[row]: float(v)
        for row, v in rec.column(f"{FG_SENSOR}.3").items()
        if "temp" in names[row].lower()
    }
    assert by_label(o, "temperature_celsius", "sensor") == temps
    assert len(temps) == (4 if name.endswith("60f") else 0)
    assert not any("fan" in n.lower() or n.startswith("PS") for n in names.values())
    assert not o.values("fan_ok") and not o.values("power_supply_ok")


def test_fortigate_hot_cpu_raises_temperature_high_level_ii(engine: RuleEngine) -> None:
    rec = Recording("firewall-fortigate_60f")
    row = next(r for r, n in rec.column(f"{FG_SENSOR}.2").items() if n.startswith("CPU"))
    changes = {f"{FG_SENSOR}.3.{row}": "92.5"}  # the reading is text
    o = inspect(rec.snapshot(changes))
    assert o.value("temperature_celsius", sensor="CPU ON-DIE Temperature") == 92.5
    got = new_alarms(engine, rec, changes, "firewall", minutes=6)
    assert got == {alarm("temperature_high", "II", sensor="CPU ON-DIE Temperature")}


# ---------------------------------------------------------------- Huawei iBMC

IBMC = "1.3.6.1.4.1.2011.2.235.1.1"
IBMC_OK = {"1": 1.0, "2": 0.0, "3": 0.0, "4": 0.0}  # absence(5), unknown(6): no sample


def firmware(rec: Recording, wanted: str) -> str:
    """firmwareVersion of the row whose index (length, then characters) is ``wanted``."""
    for row, value in rec.column(f"{IBMC}.11.50.1.4").items():
        length, *chars = (int(part) for part in row.split("."))
        if length == len(chars) and bytes(chars).decode() == wanted:
            return value
    raise AssertionError(f"no firmware row {wanted!r}")


def test_huawei_ibmc_server_health() -> None:
    rec = Recording("bmc-ibmc")
    assert parse_oid(rec.value("1.3.6.1.2.1.1.2.0"))[:9] == parse_oid(IBMC)[:9]  # ".1.3.6..."
    o = inspect(rec.snapshot())
    version = firmware(rec, "Active iBMC")
    assert version != firmware(rec, "BIOS")
    assert identity(o) == ("huawei-ibmc", "bmc", "Huawei", rec.value(f"{IBMC}.1.6.0"), version)
    assert o.meta["serial"] == rec.value(f"{IBMC}.1.7.0")
    assert o.value("cpu_usage_ratio") == int(rec.value(f"{IBMC}.1.23.0")) / 100

    fans = named(rec, f"{IBMC}.8.50.1.4", f"{IBMC}.8.50.1.7", IBMC_OK)
    assert len(fans) == 8 and by_label(o, "fan_ok", "fan") == fans
    psus = named(rec, f"{IBMC}.6.50.1.7", f"{IBMC}.6.50.1.13", IBMC_OK)
    assert len(psus) == 2 and by_label(o, "power_supply_ok", "psu") == psus
    cpus = named(rec, f"{IBMC}.15.50.1.6", f"{IBMC}.15.50.1.10", IBMC_OK)
    assert len(cpus) == 2 and by_label(o, "cpu_ok", "cpu") == cpus
    dimms = named(rec, f"{IBMC}.16.50.1.6", f"{IBMC}.16.50.1.10", IBMC_OK)
    assert len(dimms) == 16 and by_label(o, "memory_module_ok", "module") == dimms
    disks = named(rec, f"{IBMC}.18.50.1.3", f"{IBMC}.18.50.1.6", IBMC_OK)
    assert len(rec.column(f"{IBMC}.18.50.1.3")) == 14  # 12 empty bays: absence(5)
    assert len(disks) == 2 and by_label(o, "disk_ok", "disk") == disks
    names = rec.column(f"{IBMC}.26.50.1.2")
    temps = {names[r]: int(v) / 10 for r, v in rec.column(f"{IBMC}.26.50.1.3").items()}
    temps.update(  # disk temperatures: unknown(255) in this recording, so none
        {d: float(v) for d, v in rec.column(f"{IBMC}.18.50.1.20").items() if v != "255"}
    )
    assert by_label(o, "temperature_celsius", "sensor") == temps
    assert temps["Inlet"] == 19.0
    # The iBMC's own HOST-RESOURCES (its /tmp, its RAM) is not the server's: not read.
    assert rec.column("1.3.6.1.2.1.25.2.3.1.3") and not o.values("filesystem_usage_ratio")


def test_huawei_ibmc_failed_power_supply_raises_power_supply_failed(engine: RuleEngine) -> None:
    rec = Recording("bmc-ibmc")
    changes = {f"{IBMC}.6.50.1.7.2": "4"}  # PS2 powerSupplyStatus: critical
    assert inspect(rec.snapshot(changes)).value("power_supply_ok", psu="PS2") == 0
    got = new_alarms(engine, rec, changes, "bmc", minutes=2)
    assert got == {alarm("power_supply_failed", "II", psu="PS2")}


# ---------------------------------------------------------------- Dell iDRAC

DRAC = "1.3.6.1.4.1.674.10892.5"
DRAC_OK = {"3": 1.0, "4": 0.0, "5": 0.0, "6": 0.0}  # ObjectStatusEnum; other(1), unknown(2)
FAN = f"{DRAC}.4.700.12.1"  # coolingDeviceEntry: 5 status, 6 reading, 8 name, 13 lower critical
PDISK = f"{DRAC}.5.1.20.130.4.1"  # physicalDiskEntry: 24 component status, 31 SMART, 55 name
VDISK = f"{DRAC}.5.1.20.140.1.1"  # virtualDiskEntry: 4 state, 36 display name


def test_dell_idrac_server_health() -> None:
    rec = Recording("bmc-drac_r640")
    o = inspect(rec.snapshot())
    version = rec.value("1.3.6.1.4.1.674.10892.2.1.2.1.0")  # drsFirmwareVersion
    model = rec.value(f"{DRAC}.1.3.12.0")  # systemModelName
    assert identity(o) == ("dell-idrac", "bmc", "Dell", model, version)
    assert o.meta["serial"] == rec.value("1.3.6.1.4.1.674.10892.2.1.1.11.0")

    # No coolingDeviceStatus in this recording: a fan is ok above its lower critical limit.
    assert not rec.column(f"{FAN}.5")
    limits, fan_names = rec.column(f"{FAN}.13"), rec.column(f"{FAN}.8")
    fans = {fan_names[r]: float(int(v) > int(limits[r])) for r, v in rec.column(f"{FAN}.6").items()}
    assert len(fans) == 14 and by_label(o, "fan_ok", "fan") == fans
    names = rec.column(f"{DRAC}.4.700.20.1.8")
    temps = {names[r]: int(v) / 10 for r, v in rec.column(f"{DRAC}.4.700.20.1.6").items()}
    assert len(temps) == 4 and by_label(o, "temperature_celsius", "sensor") == temps
    cpus = named(rec, f"{DRAC}.4.1100.30.1.5", f"{DRAC}.4.1100.30.1.26", DRAC_OK)
    assert len(cpus) == 2 and by_label(o, "cpu_ok", "cpu") == cpus
    dimms = named(rec, f"{DRAC}.4.1100.50.1.5", f"{DRAC}.4.1100.50.1.8", DRAC_OK)
    assert len(dimms) == 8 and by_label(o, "memory_module_ok", "module") == dimms
    disks = named(rec, f"{PDISK}.24", f"{PDISK}.55", DRAC_OK)
    assert len(disks) == 4 and by_label(o, "disk_ok", "disk") == disks
    smart = named(rec, f"{PDISK}.31", f"{PDISK}.55", {"0": 1.0, "1": 0.0})
    assert by_label(o, "disk_smart_ok", "disk") == smart
    arrays = named(rec, f"{VDISK}.4", f"{VDISK}.36", {"2": 0.0, "3": 1.0, "4": 1.0})
    assert len(arrays) == 4 and by_label(o, "raid_degraded", "array") == arrays
    states = {s.labels["array"]: s.labels["state"] for s in o.values("raid_state")}
    assert states == dict.fromkeys(arrays, "online")
    assert not rec.column(f"{DRAC}.4.600.12.1.5")  # no powerSupplyStatus recorded
    assert not o.values("power_supply_ok")


def test_dell_idrac_stopped_fan_failed_disk_and_failed_array(engine: RuleEngine) -> None:
    rec = Recording("bmc-drac_r640")
    fan = rec.value(f"{FAN}.8.1.3")
    disk = rec.value(f"{PDISK}.55.2")
    array = rec.value(f"{VDISK}.36.4")
    changes = {
        f"{FAN}.6.1.3": "0",  # the fan stopped: 0 RPM, under its lower critical limit
        f"{PDISK}.24.2": "5",  # physicalDiskComponentStatus: critical
        f"{VDISK}.4.4": "3",  # virtualDiskState: failed
    }
    o = inspect(rec.snapshot(changes))
    assert o.value("fan_ok", fan=fan) == 0 and o.value("disk_ok", disk=disk) == 0
    assert o.value("raid_state", array=array, state="failed") == 1
    got = new_alarms(engine, rec, changes, "bmc", minutes=3)
    assert got == {
        alarm("fan_failed", "II", fan=fan),
        alarm("disk_failed", "II", disk=disk),
        alarm("raid_degraded", "I", array=array),  # level I: the array's state says failed
    }


# ---------------------------------------------------------------- Huawei OceanStor

STOR = "1.3.6.1.4.1.34774.4.1"
POOL = f"{STOR}.23.4.2.1"  # hwInfoStoragePoolEntry: 2 name, 5 health, 7 total, 9 free
DISK = f"{STOR}.23.5.1.1"  # hwInfoDiskEntry: 2 health, 4 location, 11 temperature, 26 e-label
CTRL = f"{STOR}.23.5.2.1"  # hwInfoControllerEntry: 2 health, 5 location, 8 CPU %


def test_huawei_oceanstor_pools_disks_and_controllers() -> None:
    rec = Recording("storage-oceanstor_dorado3k")
    o = inspect(rec.snapshot())
    version = rec.value(f"{STOR}.1.6.0")
    label = bytes.fromhex(next(iter(rec.column(f"{DISK}.26").values()))).decode()
    assert identity(o)[:3] == ("huawei-oceanstor", "storage", "Huawei")
    assert o.meta["version"] == version and o.meta["serial"] == rec.value(f"{STOR}.1.1.0")
    assert f"Description={o.meta['model']}," in label
    assert o.meta["model"].startswith("OceanStor Dorado")

    pools = rec.column(f"{POOL}.2")
    total, free = rec.column(f"{POOL}.7"), rec.column(f"{POOL}.9")
    usage = {pools[r]: (int(total[r]) - int(free[r])) / int(total[r]) for r in pools}
    assert by_label(o, "storage_pool_usage_ratio", "pool") == pytest.approx(usage)
    assert 0 < usage["Pool-1"] < 0.1
    health = {f"pool {pools[r]}": float(v != "1") for r, v in rec.column(f"{POOL}.5").items()}
    assert by_label(o, "raid_degraded", "array") == health == {"pool Pool-1": 0.0}
    disks = named(rec, f"{DISK}.2", f"{DISK}.4", {"1": 1.0, "2": 0.0})
    assert len(disks) == 12 and by_label(o, "disk_ok", "disk") == disks
    names = rec.column(f"{DISK}.4")
    temps = {f"disk {names[r]}": float(v) for r, v in rec.column(f"{DISK}.11").items()}
    assert by_label(o, "temperature_celsius", "sensor") == temps
    controllers = named(rec, f"{CTRL}.2", f"{CTRL}.5", {"1": 1.0, "2": 0.0})
    assert controllers == {"CTE0.A": 1.0, "CTE0.B": 1.0}
    assert by_label(o, "controller_ok", "controller") == controllers
    assert o.value("cpu_usage_ratio") == max(int(v) for v in rec.column(f"{CTRL}.8").values()) / 100
    assert o.value("memory_usage_ratio") is None  # controller memory is cache: not read


def test_huawei_oceanstor_full_pool_failed_disk_and_controller(engine: RuleEngine) -> None:
    rec = Recording("storage-oceanstor_dorado3k")
    (row,) = rec.column(f"{POOL}.2")
    total = int(rec.value(f"{POOL}.7.{row}"))
    disk_row = next(r for r, v in rec.column(f"{DISK}.4").items() if v == "CTE0.3")
    changes = {
        f"{POOL}.9.{row}": str(total * 4 // 100),  # 4% free: 96% used
        f"{DISK}.2.{disk_row}": "2",  # hwInfoDiskHealthStatus: fault
        f"{CTRL}.2.2.48.66": "2",  # controller CTE0.B: fault
    }
    o = inspect(rec.snapshot(changes))
    assert o.value("storage_pool_usage_ratio", pool="Pool-1") == pytest.approx(0.96, abs=1e-6)
    got = new_alarms(engine, rec, changes, "storage", minutes=6)
    assert got == {
        alarm("storage_pool_full", "II", pool="Pool-1"),
        alarm("disk_failed", "II", disk="CTE0.3"),
        alarm("controller_failed", "II", controller="CTE0.B"),
    }


def test_every_new_profile_is_chosen_by_sys_object_id() -> None:
    """The inventory kind does not decide: a BMC entered as a server still gets its profile."""
    expected = {
        "ruijie-ruijie": "ruijie",
        "ruijie-ruijie_s6150": "ruijie",
        "firewall-fortigate_60f": "fortigate",
        "firewall-fortigate_100e": "fortigate",
        "bmc-ibmc": "huawei-ibmc",
        "bmc-drac_r640": "dell-idrac",
        "storage-oceanstor_dorado3k": "huawei-oceanstor",
    }
    for name, profile in expected.items():
        o = inspect(Recording(name).snapshot(), kind="server")
        assert o.meta["profile"] == profile, name
        assert o.meta["profile_reason"].startswith("sysObjectID "), name
        assert "kind_mismatch" in o.meta, name  # told, so the inventory can be corrected
