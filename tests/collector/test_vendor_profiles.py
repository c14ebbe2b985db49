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
from tests.collector.recordings import RECORDINGS, recordings_dir
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

    def snapshot(
        self,
        changes: dict[str, str] | None = None,
        added: tuple[str, ...] = (),
        dropped: tuple[str, ...] = (),
    ) -> Snapshot:
        """The recording as a Snapshot, with ``changes`` (OID -> new value) applied,
        ``added`` lines (``OID|TYPE|VALUE``, for a column the device model lacks) added and
        the rows ending in one of ``dropped`` (a table row gone) left out."""
        changes = dict(changes or {})
        items = []
        for line in self.lines:
            oid, tag, value = line.split("|", 2)
            if dropped and oid.lstrip(".").endswith(dropped):
                continue
            value = changes.pop(oid.lstrip("."), value)
            items.append(parse_line(f"{oid}|{tag}|{value}"))
        assert not changes, f"not in the recording: {sorted(changes)}"
        assert not any(line.split("|", 1)[0] in self.values for line in added)
        return Snapshot([*items, *(parse_line(line) for line in added)])


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
KEYS = (
    "fan",
    "psu",
    "disk",
    "sensor",
    "cpu",
    "module",
    "controller",
    "pool",
    "array",
    "battery",
    "interface",
    "line",
    "member",
    "tunnel",
    "check",
    "link",
)


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
    # ... so the supplies' voltage and power-good probes (voltageProbeStatus) tell
    probes = named(rec, f"{DRAC}.4.600.20.1.5", f"{DRAC}.4.600.20.1.8", DRAC_OK)
    psus = {n: v for n, v in probes.items() if re.search(r"\bPS\d", n)}
    assert len(psus) == 4 and by_label(o, "power_supply_ok", "psu") == psus
    assert o.value("system_health_ok") == DRAC_OK[rec.value("1.3.6.1.4.1.674.10892.2.2.1.0")]
    batteries = named(rec, f"{DRAC}.4.600.50.1.5", f"{DRAC}.4.600.50.1.7", DRAC_OK)
    assert set(batteries) == {"System Board CMOS Battery", "PERC1 ROMB Battery"}
    assert by_label(o, "battery_ok", "battery") == batteries
    intrusion = {"1": 0.0, "2": 1.0, "3": 1.0}[rec.value(f"{DRAC}.4.300.70.1.6.1.1")]
    assert o.value("chassis_intrusion") == intrusion == 0.0


def test_dell_idrac_psu_probe_battery_intrusion_and_global_status(engine: RuleEngine) -> None:
    rec = Recording("bmc-drac_r640")
    changes = {
        f"{DRAC}.4.600.20.1.5.1.5": "5",  # "System Board PS1 PG FAIL": critical
        f"{DRAC}.4.600.50.1.5.1.2": "5",  # "PERC1 ROMB Battery": critical
        f"{DRAC}.4.300.70.1.6.1.1": "2",  # intrusionReading: chassisBreached
        "1.3.6.1.4.1.674.10892.2.2.1.0": "5",  # drsGlobalSystemStatus: critical
    }
    got = new_alarms(engine, rec, changes, "bmc", minutes=6)
    assert got == {
        alarm("power_supply_failed", "II", psu="System Board PS1 PG FAIL"),
        alarm("battery_failed", "III", battery="PERC1 ROMB Battery"),
        alarm("chassis_intrusion", "III"),
        alarm("system_health_failed", "III"),
    }


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


def test_dell_idrac_probe_alarms_need_the_probe_names() -> None:
    """Only the probes named after a supply count: a CPU's power-good probe is not a PSU."""
    rec = Recording("bmc-drac_r640")
    names = rec.column(f"{DRAC}.4.600.20.1.8")
    cpu_row = next(r for r, n in names.items() if n.startswith("CPU1"))
    o = inspect(rec.snapshot({f"{DRAC}.4.600.20.1.5.{cpu_row}": "5"}))
    assert all(s.value == 1 for s in o.values("power_supply_ok"))


# ---------------------------------------------------------------- Synology

SYNO = "1.3.6.1.4.1.6574"
SYNO_DISK = f"{SYNO}.2.1.1"  # diskEntry: 2 ID, 5 status, 6 temperature, 9 bad sectors, 13 health
SYNO_RAID = f"{SYNO}.3.1.1"  # raidEntry: 2 name, 3 status


def test_synology_nas_health() -> None:
    rec = Recording("storage-dsm_ds214se-dsm7")
    assert rec.value("1.3.6.1.2.1.1.2.0") == "1.3.6.1.4.1.8072.3.2.10"  # net-snmp's own OID
    o = inspect(rec.snapshot(), kind="server")
    assert identity(o) == (
        "synology",
        "storage",
        "Synology",
        rec.value(f"{SYNO}.1.5.1.0"),
        rec.value(f"{SYNO}.1.5.3.0"),
    )
    ok = {"1": 1.0, "2": 0.0}
    assert o.value("system_health_ok") == ok[rec.value(f"{SYNO}.1.1.0")] == 1
    assert o.value("power_supply_ok", psu="power") == ok[rec.value(f"{SYNO}.1.3.0")]
    assert o.value("fan_ok", fan="system") == ok[rec.value(f"{SYNO}.1.4.1.0")]
    assert o.value("fan_ok", fan="cpu") == ok[rec.value(f"{SYNO}.1.4.2.0")]
    assert o.value("temperature_celsius", sensor="system") == int(rec.value(f"{SYNO}.1.2.0"))
    names = rec.column(f"{SYNO_DISK}.2")
    disks = named(rec, f"{SYNO_DISK}.5", f"{SYNO_DISK}.2", {"1": 1.0, "2": 1.0, "5": 0.0})
    assert len(disks) == 2 and by_label(o, "disk_ok", "disk") == disks
    bad = {names[r]: float(v) for r, v in rec.column(f"{SYNO_DISK}.9").items()}
    assert by_label(o, "disk_bad_sectors", "disk") == bad == {"Disk 1": 0.0, "Disk 2": 511.0}
    for row, value in rec.column(f"{SYNO_DISK}.6").items():
        assert o.value("temperature_celsius", sensor=names[row]) == int(value)
    arrays = named(rec, f"{SYNO_RAID}.3", f"{SYNO_RAID}.2", {"1": 0.0, "11": 1.0, "12": 1.0})
    assert set(arrays) == {"Volume 1", "Storage Pool 1"}
    assert by_label(o, "raid_degraded", "array") == arrays
    assert 0 < o.value("filesystem_usage_ratio", mountpoint="/volume1") < 0.1  # HOST-RESOURCES


def test_synology_bad_sectors_alarm_as_recorded_and_a_crashed_pool(engine: RuleEngine) -> None:
    rec = Recording("storage-dsm_ds214se-dsm7")
    healthy = {a for a in alarms_of(engine, rec.snapshot(), "storage", minutes=3)}
    assert {(r, lv) for r, lv, _ in healthy} == {("disk_bad_sectors", "III")}
    assert ("disk", "Disk 2") in next(iter(healthy))[2]
    pool = next(r for r, n in rec.column(f"{SYNO_RAID}.2").items() if n == "Storage Pool 1")
    changes = {
        f"{SYNO_RAID}.3.{pool}": "12",  # raidStatus: Crashed
        f"{SYNO}.1.4.1.0": "2",  # systemFanStatus: Failed
    }
    got = new_alarms(engine, rec, changes, "storage", minutes=3)
    assert got == {
        alarm("raid_degraded", "I", array="Storage Pool 1"),
        alarm("fan_failed", "II", fan="system"),
    }


def test_plain_linux_is_not_taken_for_a_synology() -> None:
    o = inspect(Recording("linux-linux_opensips").snapshot(), kind="server")
    assert o.meta["profile"] == "net-snmp"


# ---------------------------------------------------------------- UPS

UPS_MIB = "1.3.6.1.2.1.33.1"


def test_generex_ups_input_and_bypass_alarm(engine: RuleEngine) -> None:
    rec = Recording("ups-generex-ups_cs141")
    o = inspect(rec.snapshot())
    volts = {r: float(v) for r, v in rec.column(f"{UPS_MIB}.3.3.1.3").items()}
    assert by_label(o, "ups_input_voltage_volts", "line") == volts and len(volts) == 3
    assert o.value("ups_input_frequency_hertz") == int(rec.value(f"{UPS_MIB}.3.3.1.2.1")) / 10
    loads = {r: int(v) / 100 for r, v in rec.column(f"{UPS_MIB}.4.4.1.5").items()}
    assert by_label(o, "ups_load_ratio", "line") == loads
    assert rec.value(f"{UPS_MIB}.4.1.0") == "4"  # upsOutputSource: bypass, as recorded
    assert o.value("ups_self_test_ok") is None  # no upsTestResultsSummary recorded
    found = alarms_of(engine, rec.snapshot(), "ups", minutes=2)
    assert {(r, lv) for r, lv, _ in found} == {("ups_on_bypass", "II")}


def test_eaton_ups_own_load_frequency_and_aborted_self_test(engine: RuleEngine) -> None:
    rec = Recording("ups-eatonupsm2_9px+empg2")
    o = inspect(rec.snapshot(), kind="ups")
    assert not rec.column(f"{UPS_MIB}.4.4.1.5")  # no UPS-MIB load: XUPS-MIB's own
    load = int(rec.value("1.3.6.1.4.1.534.1.4.1.0")) / 100
    assert o.value("ups_load_ratio", line="total") == load
    assert o.value("ups_input_frequency_hertz") == int(rec.value("1.3.6.1.4.1.534.1.3.1.0")) / 10
    assert o.value("ups_input_voltage_volts", line="1") == int(rec.value(f"{UPS_MIB}.3.3.1.3.1"))
    assert rec.value(f"{UPS_MIB}.7.3.0") == "4"  # upsTestResultsSummary: aborted
    assert o.value("ups_self_test_ok", result="aborted") == 0
    assert o.value("ups_alarms") == int(rec.value(f"{UPS_MIB}.6.1.0")) == 0
    found = alarms_of(engine, rec.snapshot(), "ups", minutes=2)
    assert {(r, lv) for r, lv, _ in found} == {("ups_self_test_failed", "IV")}
    changes = {
        "1.3.6.1.4.1.534.1.4.1.0": "104",  # xupsOutputLoad: overloaded
        f"{UPS_MIB}.3.3.1.3.1": "176",  # upsInputVoltage: sagging mains
        f"{UPS_MIB}.7.3.0": "3",  # upsTestResultsSummary: doneError
        f"{UPS_MIB}.6.1.0": "1",  # upsAlarmsPresent
    }
    got = new_alarms(engine, rec, changes, "ups", minutes=11)
    assert got == {
        alarm("ups_overload", "II", line="total"),
        alarm("ups_input_voltage_abnormal", "III", line="1"),
        alarm("ups_self_test_failed", "III"),
        alarm("ups_alarm_present", "III"),
    }


def test_values_a_ups_does_not_know_read_as_unknown() -> None:
    rec = Recording("ups-eatonupsm2_9px+empg2")
    changes = {
        f"{UPS_MIB}.2.3.0": "-1",  # upsEstimatedMinutesRemaining
        f"{UPS_MIB}.2.4.0": "2147483647",  # upsEstimatedChargeRemaining
        f"{UPS_MIB}.3.3.1.3.1": "2147483647",  # upsInputVoltage
        f"{UPS_MIB}.6.1.0": "4294967295",  # upsAlarmsPresent (Gauge32)
        "1.3.6.1.4.1.534.1.4.1.0": "-1",  # xupsOutputLoad
        "1.3.6.1.4.1.534.1.3.1.0": "4294967295",  # xupsInputFrequency
    }
    o = inspect(rec.snapshot(changes), kind="ups")
    for name in (
        "ups_battery_minutes_remaining",
        "ups_battery_charge_ratio",
        "ups_input_voltage_volts",
        "ups_alarms",
        "ups_load_ratio",
        "ups_input_frequency_hertz",
    ):
        assert not o.values(name), name


# ---------------------------------------------------------------- FortiGate: sessions, HA, VPN

FG = "1.3.6.1.4.1.12356.101"


def test_fortigate_sessions_ha_vpn_and_sdwan() -> None:
    rec = Recording("firewall-fortigate_60f")
    o = inspect(rec.snapshot())
    assert o.value("firewall_sessions") == int(rec.value(f"{FG}.4.1.8.0"))
    members = rec.column(f"{FG}.13.2.1.1.11")
    assert o.value("ha_members") == len(members) == 2
    sync = named(rec, f"{FG}.13.2.1.1.12", f"{FG}.13.2.1.1.11", {"0": 0.0, "1": 1.0})
    assert by_label(o, "ha_in_sync", "member") == sync == dict.fromkeys(members.values(), 1.0)
    checks = rec.column(f"{FG}.4.9.2.1.2")
    sdwan = {
        (checks[r], r): {"0": 1.0, "1": 0.0}[v] for r, v in rec.column(f"{FG}.4.9.2.1.4").items()
    }
    got = {(s.labels["check"], s.labels["link"]): s.value for s in o.values("sdwan_link_ok")}
    assert got == sdwan and len(sdwan) == 1
    old = inspect(Recording("firewall-fortigate_100e").snapshot())
    rec_old = Recording("firewall-fortigate_100e")
    tunnels = named(rec_old, f"{FG}.12.2.2.1.20", f"{FG}.12.2.2.1.2", {"1": 0.0, "2": 1.0})
    assert len(tunnels) == 2 and by_label(old, "vpn_tunnel_up", "tunnel") == tunnels
    assert old.value("firewall_sessions") == int(rec_old.value(f"{FG}.4.1.8.0"))
    assert not old.values("ha_in_sync")  # standalone: no HA rows


def test_fortigate_ha_member_that_leaves_the_cluster(engine: RuleEngine) -> None:
    rec = Recording("firewall-fortigate_60f")
    ha = f"{FG}.13.2.1.1"
    assert len(rec.column(f"{ha}.1")) == 2
    gone = tuple(f"{ha}.{col}.2" for col in range(1, 17))  # member 2's row of fgHaStatsTable
    alone = rec.snapshot(dropped=gone)
    assert inspect(alone).value("ha_members") == 1
    found = changed_over_time(engine, rec.snapshot(), alone, "firewall", minutes=3)
    assert ("firewall_ha_member_lost", "II") in {(r, lv) for r, lv, _ in found}


def test_fortigate_out_of_sync_member_dead_sdwan_link(engine: RuleEngine) -> None:
    rec = Recording("firewall-fortigate_60f")
    changes = {f"{FG}.13.2.1.1.12.2": "0", f"{FG}.4.9.2.1.4.1": "1"}
    got = new_alarms(engine, rec, changes, "firewall", minutes=11)
    member = rec.value(f"{FG}.13.2.1.1.11.2")
    check = rec.value(f"{FG}.4.9.2.1.2.1")
    assert got == {
        alarm("firewall_ha_out_of_sync", "III", member=member),
        alarm("sdwan_link_failed", "III", check=check, link="1"),
    }


def changed_over_time(
    engine: RuleEngine, before: Snapshot, after: Snapshot, kind: str, minutes: int
) -> set[Alarm]:
    """Alarms active after one inspection of ``before``, then ``minutes`` of ``after``."""
    device = {"name": DEVICE, "kind": kind, "address": "192.0.2.10"}
    inventory = make_inventory([{**device, "inspect": {"snmp": SNMP.model_dump(mode="json")}}])
    state, active = EngineState(), {}
    for minute in range(minutes + 2):
        when = T0 + timedelta(minutes=minute)
        snap = before if minute == 0 else after
        driver = SnmpDriver(pool=SnapshotPool({DEVICE: snap}), environ=ENV)
        evaluation = engine.evaluate(state, [inspect(snap, when, driver)], when, inventory)
        driver.close()
        state = evaluation.state
        active.update({a.fingerprint: a for a in evaluation.firing})
        for gone in evaluation.cleared:
            active.pop(gone.fingerprint, None)
    return {(a.rule, a.level.value, tuple(sorted(a.labels.items()))) for a in active.values()}


def test_fortigate_tunnel_and_wan_that_were_up_go_down(engine: RuleEngine) -> None:
    rec = Recording("firewall-fortigate_100e")
    names = rec.column("1.3.6.1.2.1.31.1.1.1.1")
    wan = next(r for r, n in names.items() if n == "wan1")
    assert rec.value(f"1.3.6.1.2.1.2.2.1.8.{wan}") == "1"  # up as recorded
    assert rec.value(f"1.3.6.1.2.1.31.1.1.1.18.{wan}") == "inside"  # described by the customer
    tunnel = rec.value(f"{FG}.12.2.2.1.2.1")
    after = rec.snapshot({f"1.3.6.1.2.1.2.2.1.8.{wan}": "2", f"{FG}.12.2.2.1.20.1": "1"})
    found = changed_over_time(engine, rec.snapshot(), after, "firewall", minutes=3)
    keys = {(r, lv, dict(ls).get("interface", dict(ls).get("tunnel"))) for r, lv, ls in found}
    assert keys == {("interface_down", "II", "wan1"), ("vpn_tunnel_down", "III", tunnel)}
    # The 60F's WAN ports are undescribed and were down from the start: nothing, as
    # recorded; once seen up, going down is wan_link_down.
    rec = Recording("firewall-fortigate_60f")
    as_is = {r for r, _, _ in alarms_of(engine, rec.snapshot(), "firewall", 3)}
    assert not as_is & {"wan_link_down", "interface_down"}
    names = rec.column("1.3.6.1.2.1.31.1.1.1.1")
    wan = next(r for r, n in names.items() if n == "wan1")
    assert rec.value(f"1.3.6.1.2.1.2.2.1.8.{wan}") == "2"
    before = rec.snapshot({f"1.3.6.1.2.1.2.2.1.8.{wan}": "1"})
    found = changed_over_time(engine, before, rec.snapshot(), "firewall", minutes=3)
    keys = {(r, lv, dict(ls).get("interface")) for r, lv, ls in found}
    assert ("wan_link_down", "II", "wan1") in keys
    assert not {k for k in keys if k[0] == "interface_down"}


# ---------------------------------------------------------------- sensors and optics

CES = "1.3.6.1.4.1.9.9.91.1"  # CISCO-ENTITY-SENSOR-MIB: 1.1.1 values, 2.1.1 thresholds


def cisco_value(rec: Recording, row: str) -> float:
    value = int(rec.value(f"{CES}.1.1.1.4.{row}"))
    scale, precision = (
        int(rec.value(f"{CES}.1.1.1.2.{row}")),
        int(rec.value(f"{CES}.1.1.1.3.{row}")),
    )
    return value * 10.0 ** (3 * (scale - 9)) / 10.0**precision


def test_cisco_entity_sensor_table_is_read() -> None:
    rec = Recording("cisco-iosxe_ie32008t2s-ios17-12")
    o = inspect(rec.snapshot())
    ent = rec.column("1.3.6.1.2.1.47.1.1.1.1.7")
    kinds = rec.column(f"{CES}.1.1.1.1")
    temps = {ent[r]: cisco_value(rec, r) for r, k in kinds.items() if k == "8"}
    assert len(temps) == 2  # the slot and the SFP
    for sensor, celsius in temps.items():
        assert o.value("temperature_celsius", sensor=sensor) == pytest.approx(celsius)
    assert o.value("temperature_celsius", sensor="Slot 1 - Temp: LM75BXXX") == 48
    dbm = {ent[r]: cisco_value(rec, r) for r, k in kinds.items() if k == "14"}
    rx = next(v for n, v in dbm.items() if "Rx Power" in n)
    tx = next(v for n, v in dbm.items() if "Tx Power" in n)
    # The sensors sit in the transceiver entity "GigabitEthernet1/1" = ifDescr of Gi1/1.
    assert o.value("optic_rx_power_dbm", interface="Gi1/1") == pytest.approx(rx) == -6.2
    assert o.value("optic_tx_power_dbm", interface="Gi1/1") == pytest.approx(tx) == -5.6
    assert o.value("optic_rx_power_low", interface="Gi1/1") == 0  # above -19.0 dBm


def test_cisco_rx_power_under_the_critical_low_threshold_alarms(engine: RuleEngine) -> None:
    rec = Recording("cisco-iosxe_ie32008t2s-ios17-12")
    ent = rec.column("1.3.6.1.2.1.47.1.1.1.1.7")
    row = next(r for r, n in ent.items() if "Rx Power Sensor" in n)
    # entSensorThresholdEntry of that sensor: the critical(30) lessOrEqual(2) limit
    limits = {
        t: int(rec.value(f"{CES}.2.1.1.4.{row}.{t}"))
        for t in ("1", "2", "3", "4")
        if rec.value(f"{CES}.2.1.1.3.{row}.{t}") in ("1", "2")
    }
    severity = {t: int(rec.value(f"{CES}.2.1.1.2.{row}.{t}")) for t in limits}
    low = limits[max(limits, key=lambda t: severity[t])]
    assert low == -190  # -19.0 dBm
    changes = {f"{CES}.1.1.1.4.{row}": str(low - 5)}  # -19.5 dBm, the link still up
    assert inspect(rec.snapshot(changes)).value("optic_rx_power_low", interface="Gi1/1") == 1
    got = new_alarms(engine, rec, changes, "switch", minutes=6)
    assert got == {alarm("optic_rx_power_low", "III", interface="Gi1/1")}


def test_comware_sensor_entities_and_transceivers() -> None:
    rec = Recording("comware-comware_hpe5900")
    o = inspect(rec.snapshot())
    ent, klass = rec.column("1.3.6.1.2.1.47.1.1.1.1.7"), rec.column("1.3.6.1.2.1.47.1.1.1.1.5")
    temps = {
        ent[r]: float(v)
        for r, v in rec.column("1.3.6.1.4.1.25506.2.6.1.1.1.1.12").items()
        if v not in ("0", "65535") and klass.get(r) in ("8", "9")  # sensor(8), module(9)
    }
    assert {"SENSOR 2", "SENSOR 3"} <= set(temps)
    assert by_label(o, "temperature_celsius", "sensor") == temps
    rec = Recording("comware-comware_a5500")
    o = inspect(rec.snapshot())
    xcvr = "1.3.6.1.4.1.25506.2.70.1.1.1"
    (row,) = rec.column(f"{xcvr}.12")
    port = rec.value(f"1.3.6.1.2.1.31.1.1.1.1.{row}")
    assert o.value("optic_rx_power_dbm", interface=port) == int(rec.value(f"{xcvr}.12.{row}")) / 100
    assert o.value("optic_tx_power_dbm", interface=port) == int(rec.value(f"{xcvr}.9.{row}")) / 100
    low = int(rec.value(f"{xcvr}.14.{row}"))  # hh3cTransceiverMinRXPower: -20.00 dBm
    assert (
        o.value("optic_rx_power_low", interface=port)
        == float(int(rec.value(f"{xcvr}.12.{row}")) < low)
        == 0
    )
    assert o.value("temperature_celsius", sensor=f"{port} transceiver") == int(
        rec.value(f"{xcvr}.15.{row}")
    )
    # The 5900's modules without DOM answer 2147483647 ("not supported"): no figure.
    o5900 = inspect(Recording("comware-comware_hpe5900").snapshot())
    assert not o5900.values("optic_rx_power_dbm")


def test_huawei_ar_optical_module() -> None:
    rec = Recording("vrp-vrp_ar169sfp")
    o = inspect(rec.snapshot())
    opt = "1.3.6.1.4.1.2011.5.25.31.1.1.3.1"
    present = [r for r, v in rec.column(f"{opt}.1").items() if v in ("2", "3", "4")]
    assert len(present) == 1 and len(rec.column(f"{opt}.1")) == 8  # 7 ports without a module
    (row,) = present
    port = rec.value(f"1.3.6.1.2.1.47.1.1.1.1.7.{row}")
    assert o.value("optic_rx_power_dbm", interface=port) == int(rec.value(f"{opt}.8.{row}")) / 100
    assert o.value("optic_tx_power_dbm", interface=port) == int(rec.value(f"{opt}.9.{row}")) / 100
    assert len(o.values("optic_rx_power_dbm")) == 1
    assert o.value("temperature_celsius", sensor=f"{port} transceiver") == int(
        rec.value(f"{opt}.5.{row}")
    )
    assert not o.values("optic_rx_power_low")  # this AR reports no thresholds (.13)
    assert not rec.column(f"{opt}.13")
    # A model that reports hwEntityOpticalRxLowThreshold (0.01 dBm): judged against it.
    for limit, low in (("-800", 1.0), ("-1400", 0.0)):
        added = (f"{opt}.13.{row}|2|{limit}",)
        o = inspect(rec.snapshot(added=added))
        assert o.value("optic_rx_power_low", interface=port) == low


# ---------------------------------------------------------------- Ruijie thresholds


def test_ruijie_uses_its_own_temperature_limits(engine: RuleEngine) -> None:
    rec = Recording("ruijie-ruijie_s6150")
    temp = f"{RUIJIE}.1.1.44.1"  # 4 name, 5 current, 6 warning, 7 critical
    o = inspect(rec.snapshot())
    names = rec.column(f"{temp}.4")
    expected = {
        names[r].strip(): float(
            (int(v) >= int(rec.value(f"{temp}.6.{r}")))
            + (int(v) >= int(rec.value(f"{temp}.7.{r}")))
        )
        for r, v in rec.column(f"{temp}.5").items()
    }
    assert by_label(o, "temperature_over_threshold", "sensor") == expected
    assert set(expected.values()) == {0.0}
    row = next(r for r, n in names.items() if n.strip() == "switch")
    warning, critical = int(rec.value(f"{temp}.6.{row}")), int(rec.value(f"{temp}.7.{row}"))
    assert (warning, critical) == (100, 105)
    # 85 °C on the switching chip: under its own warning limit (100), so no alarm,
    # although the fixed 75 °C rule would have raised one.
    assert new_alarms(engine, rec, {f"{temp}.5.{row}": "85"}, "switch", minutes=6) == set()
    got = new_alarms(engine, rec, {f"{temp}.5.{row}": str(critical)}, "switch", minutes=6)
    assert got == {alarm("temperature_over_threshold", "II", sensor="switch")}


# ---------------------------------------------------------------- interface rules, every recording

PORT_RULES = {"interface_down", "interface_went_down", "wan_link_down"}
IF_OPER = "1.3.6.1.2.1.2.2.1.8"


def if_row(rec: Recording, name: str) -> str:
    """The ifIndex the interfaces reader named ``name`` (ifName, else ifDescr)."""
    names, descrs = rec.column("1.3.6.1.2.1.31.1.1.1.1"), rec.column("1.3.6.1.2.1.2.2.1.2")
    for row in sorted({*names, *descrs}, key=lambda r: int(r.split(".")[0])):
        if (names.get(row) or descrs.get(row)) == name:
            return row
    raise AssertionError(f"no ifIndex for {name!r}")


@pytest.mark.parametrize("name", RECORDINGS)
def test_interface_rules_on_every_recording(engine: RuleEngine, name: str) -> None:
    rec = Recording(name)
    o = inspect(rec.snapshot())
    kind = o.meta["kind"]
    as_recorded = alarms_of(engine, rec.snapshot(), kind, minutes=3)
    assert not {r for r, _, _ in as_recorded} & PORT_RULES

    admin = by_label(o, "interface_admin_up", "interface")  # some agents give none (C3560)
    up = [
        s for s in o.values("interface_up") if s.value == 1 and admin.get(s.labels["interface"], 1)
    ]
    described = next((s for s in up if "alias" in s.labels), None)
    bare = next((s for s in up if "alias" not in s.labels), None)
    if described is not None:
        port = described.labels["interface"]
        after = rec.snapshot({f"{IF_OPER}.{if_row(rec, port)}": "2"})
        found = changed_over_time(engine, rec.snapshot(), after, kind, minutes=2)
        ports = {(r, dict(ls)["interface"]) for r, _, ls in found if r in PORT_RULES}
        uplink = kind in ("firewall", "router") and port.startswith("wan")
        assert ports == {("interface_down" if uplink else "interface_went_down", port)}
    if bare is not None:
        port = bare.labels["interface"]
        after = rec.snapshot({f"{IF_OPER}.{if_row(rec, port)}": "2"})
        found = changed_over_time(engine, rec.snapshot(), after, kind, minutes=2)
        wan = kind in ("firewall", "router") and port.startswith("wan")
        expected = {("wan_link_down", port)} if wan else set()
        assert {(r, dict(ls)["interface"]) for r, _, ls in found if r in PORT_RULES} == expected
    # which recordings have which kind of port, so the test stays meaningful
    has = (described is not None, bare is not None)
    assert has == DESCRIBED_AND_BARE[name], has


DESCRIBED_AND_BARE = {
    "vrp-vrp_s5328c-ei": (True, True),
    "vrp-vrp_ar169sfp": (True, True),
    "comware-comware_a5500": (False, True),  # its descriptions are the ports' own names
    "comware-comware_hpe5900": (False, False),  # no IF-MIB recorded
    "cisco-ios_c3560": (False, True),  # its described ports are all down as recorded
    "cisco-iosxe_ie32008t2s-ios17-12": (True, True),
    "ruijie-ruijie": (False, True),
    "ruijie-ruijie_s6150": (False, True),
    "ups-generex-ups_cs141": (False, False),  # the UPS profiles read no IF-MIB
    "ups-eatonupsm2_9px+empg2": (False, False),
    "linux-linux_opensips": (False, True),
    "bmc-ibmc": (False, True),
    "bmc-drac_r640": (False, True),
    "storage-oceanstor_dorado3k": (False, False),  # no IF-MIB on these arrays
    "storage-dsm_ds214se-dsm7": (False, True),
    "firewall-fortigate_60f": (False, True),
    "firewall-fortigate_100e": (True, True),
}


def test_c3560_without_admin_status_alarms_only_a_port_that_was_up(engine: RuleEngine) -> None:
    rec = Recording("cisco-ios_c3560")
    assert not rec.column("1.3.6.1.2.1.2.2.1.7")  # no ifAdminStatus at all
    o = inspect(rec.snapshot())
    down = [s.labels["interface"] for s in o.values("interface_up") if s.value == 0]
    described = [s for s in o.values("interface_up") if "alias" in s.labels]
    assert described and all(s.value == 0 for s in described)  # down (shut?) as recorded
    port = described[0].labels["interface"]
    assert port in down
    before = rec.snapshot({f"{IF_OPER}.{if_row(rec, port)}": "1"})
    found = changed_over_time(engine, before, rec.snapshot(), "switch", minutes=2)
    ports = {(r, lv, dict(ls)["interface"]) for r, lv, ls in found if r in PORT_RULES}
    assert ports == {("interface_went_down", "III", port)}


def test_ruijie_fiber_mib_optics(engine: RuleEngine) -> None:
    rec = Recording("ruijie-ruijie_s6150")
    fiber = f"{RUIJIE}.105.1.1.1"  # ruijieFiberEntry: 76 rx, 81 tx, 93 rx low-alarm limit
    rx = rec.column(f"{fiber}.76")
    assert len(rx) == 32 and set(rx.values()) == {"-10000"}  # "invalid": no module with DOM
    assert not inspect(rec.snapshot()).values("optic_rx_power_dbm")
    port = rec.value("1.3.6.1.2.1.31.1.1.1.1.1")
    optic = {f"{fiber}.76.1": "-2150", f"{fiber}.81.1": "-250", f"{fiber}.93.1": "-2000"}
    assert rec.value(f"{IF_OPER}.1") == "2"
    # as recorded the port is down: no light is interface_down's business, not this rule's
    assert new_alarms(engine, rec, optic, "switch", minutes=6) == set()
    changes = {**optic, f"{IF_OPER}.1": "1"}  # the link up on marginal light
    o = inspect(rec.snapshot(changes))
    assert o.value("optic_rx_power_dbm", interface=port) == -21.5
    assert o.value("optic_tx_power_dbm", interface=port) == -2.5
    assert o.value("optic_rx_power_low", interface=port) == 1
    got = new_alarms(engine, rec, changes, "switch", minutes=6)
    assert got == {alarm("optic_rx_power_low", "III", interface=port)}


def test_cisco_temperatures_use_the_switchs_own_limits(engine: RuleEngine) -> None:
    rec = Recording("cisco-iosxe_ie32008t2s-ios17-12")
    ent = rec.column("1.3.6.1.2.1.47.1.1.1.1.7")
    slot = next(r for r, n in ent.items() if n.startswith("Slot 1"))
    sfp = next(r for r, n in ent.items() if "Temperature Sensor" in n)

    def high_limits(row: str) -> dict[int, float]:
        """severity -> limit of the sensor's greaterThan/greaterOrEqual thresholds"""
        out = {}
        for t, relation in rec.column(f"{CES}.2.1.1.3.{row}").items():
            if relation in ("3", "4"):
                precision = int(rec.value(f"{CES}.1.1.1.3.{row}"))
                value = int(rec.value(f"{CES}.2.1.1.4.{row}.{t}")) / 10**precision
                out[int(rec.value(f"{CES}.2.1.1.2.{row}.{t}"))] = value
        return out

    assert high_limits(slot) == {10: 80, 20: 90, 30: 96, 1: 105}  # minor, major, critical
    assert high_limits(sfp) == {30: 80.0, 10: 70.0}
    o = inspect(rec.snapshot())
    assert by_label(o, "temperature_over_threshold", "sensor") == {ent[slot]: 0, ent[sfp]: 0}
    changes = {f"{CES}.1.1.1.4.{slot}": "91", f"{CES}.1.1.1.4.{sfp}": "72500"}  # 91 °C, 72.5 °C
    got = new_alarms(engine, rec, changes, "switch", minutes=6)
    assert got == {
        alarm("temperature_over_threshold", "II", sensor=ent[slot]),  # past its major 90
        alarm("temperature_over_threshold", "III", sensor=ent[sfp]),  # past its minor 70
    }
