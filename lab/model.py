"""What a lab device is made of, as data: the schema of ``lab/fleet.yaml``.

The file describes devices the way an engineer sees them (interfaces, boards, power
supplies, filesystems, the UPS's battery), not as OIDs: :mod:`lab.mibs` renders them
into the tables a real agent of that make would answer with, and :mod:`lab.linux` into
the output of the commands an SSH inspection runs. A fault is a patch of that same data
(see :mod:`lab.fleet`), so "the uplink goes down" reads as ``{up: false}`` on the port.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from weibao.durations import parse_duration
from weibao.inventory.model import Secret, SnmpInspection
from weibao.levels import Level

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB|PiB)\s*$")
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}


def _to_size(value: Any) -> Any:
    """``64GiB`` -> bytes; a plain integer is bytes already."""
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a size: write e.g. 512MiB, 64GiB or 80TiB")
        return int(float(match.group(1)) * _UNITS[match.group(2)])
    return value


def _to_duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str | int | float) else value


def _to_oid(value: Any) -> Any:
    text = str(value).strip().lstrip(".")
    if not re.fullmatch(r"\d+(\.\d+)+", text):
        raise ValueError(f"{value!r} is not a numeric OID such as 1.3.6.1.4.1.2011.2.23.102")
    return text


def _to_address(value: Any) -> Any:
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address (the lab uses 127.0.0.x)") from None


Size = Annotated[int, BeforeValidator(_to_size), Field(ge=0)]
Duration = Annotated[timedelta, BeforeValidator(_to_duration)]
OidText = Annotated[str, BeforeValidator(_to_oid)]
Address = Annotated[str, BeforeValidator(_to_address)]
Ratio = Annotated[float, Field(ge=0.0, le=1.0)]
Percent = Annotated[int, Field(ge=0, le=100)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


IF_TYPES = {"ethernet": 6, "loopback": 24, "virtual": 53, "tunnel": 131, "vlan": 136}


class Interface(Strict):
    index: int | None = Field(default=None, ge=1, description="ifIndex; default: 1, 2, ...")
    alias: str = Field(default="", description="ifAlias, the description engineers write")
    type: Literal["ethernet", "loopback", "virtual", "tunnel", "vlan"] = "ethernet"
    speed: int = Field(default=1000, ge=0, description="Mbit/s")
    admin_up: bool = True
    up: bool = True
    load: Ratio = Field(default=0.0, description="share of the line rate in use (traffic)")


ENTITY_CLASSES = {
    "other": 1,
    "chassis": 3,
    "container": 5,
    "power_supply": 6,
    "fan": 7,
    "sensor": 8,
    "module": 9,
    "port": 10,
    "cpu": 12,
}


class Entity(Strict):
    """An ENTITY-MIB row; boards carry the vendor's CPU, memory and temperature figures."""

    kind: Literal[
        "other", "chassis", "container", "power_supply", "fan", "sensor", "module", "port", "cpu"
    ] = "module"
    descr: str = ""
    model: str = ""
    serial: str = ""
    cpu: Percent | None = None
    memory: Percent | None = None
    temperature: int | None = Field(default=None, ge=-40, le=150, description="°C")


class Part(Strict):
    """A fan or a power supply: working or not."""

    ok: bool = True


class Filesystem(Strict):
    size: Size
    used: Ratio
    device: str = Field(default="", description="what df shows as Filesystem")
    inodes_used: Ratio = 0.05


class Memory(Strict):
    size: Size
    used: Ratio


class RaidArray(Strict):
    level: Literal["raid1", "raid5", "raid6", "raid10"] = "raid1"
    size: Size
    disks: list[str] = Field(min_length=2)
    failed: list[str] = Field(default_factory=list, description="members marked (F)")

    @model_validator(mode="after")
    def _members(self) -> RaidArray:
        unknown = [d for d in self.failed if d not in self.disks]
        if unknown:
            raise ValueError(f"failed disks {unknown} are not members of the array")
        return self


class Host(Strict):
    """A server's (or a storage array's) system figures: HOST-RESOURCES over SNMP, and
    /proc, df, systemctl over SSH."""

    cpus: int = Field(default=4, ge=1, le=512)
    cpu: Percent = 10
    load1: float = Field(default=0.5, ge=0)
    memory: Memory
    swap: Memory | None = None
    filesystems: dict[str, Filesystem] = Field(default_factory=dict)
    raid: dict[str, RaidArray] = Field(default_factory=dict)
    failed_units: list[str] = Field(default_factory=list)
    kernel: str = "3.10.0-1160.el7.x86_64"
    os_release: str = 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nVERSION_ID="7"\n'


class Ups(Strict):
    """RFC 1628 UPS-MIB figures (and Eaton's XUPS-MIB where the template has it)."""

    manufacturer: str
    model: str
    software: str = ""
    serial: str = ""
    on_battery: bool = False
    battery_status: Literal["normal", "low", "depleted"] = "normal"
    charge: Percent = 100
    minutes_remaining: int = Field(default=60, ge=0)
    battery_temperature: int = 25
    load: list[Percent] = Field(default_factory=lambda: [30], min_length=1)
    ambient_temperature: int | None = None
    battery_bad: bool = False


class System(Strict):
    descr: str
    object_id: OidText
    contact: str = ""
    location: str = ""


class LabSsh(Strict):
    user: str = Field(min_length=1)
    port: int = Field(default=2222, ge=1, le=65535)
    password: Secret


TEMPLATES = ("huawei-vrp", "h3c-comware", "eaton-ups", "host-resources", "generic")
_SLOT_FAN = re.compile(r"^\d+/\d+$")


class LabDevice(Strict):
    name: str = Field(min_length=1)
    address: Address
    template: Literal["huawei-vrp", "h3c-comware", "eaton-ups", "host-resources", "generic"] = (
        "generic"
    )
    silent: bool = Field(default=False, description="answers nothing, like a dead device")
    uptime: Duration = Field(
        default=timedelta(days=30), description="how long it has been up when the lab first runs"
    )
    snmp: SnmpInspection | None = None
    ssh: LabSsh | None = None
    system: System | None = None
    interfaces: dict[str, Interface] = Field(default_factory=dict)
    entities: dict[str, Entity] = Field(default_factory=dict)
    fans: dict[str, Part] = Field(default_factory=dict)
    power_supplies: dict[str, Part] = Field(default_factory=dict)
    host: Host | None = None
    ups: Ups | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LabDevice:
        if self.snmp is None and self.ssh is None:
            raise ValueError("a lab device answers SNMP, SSH or both: add snmp: or ssh:")
        if self.snmp is not None and self.system is None:
            raise ValueError("an SNMP device needs system: (descr and object_id at least)")
        if self.ssh is not None and self.host is None:
            raise ValueError("an SSH device needs host: (what its commands report)")
        if self.template == "eaton-ups" and self.ups is None:
            raise ValueError("template eaton-ups needs ups: (battery, load, ...)")
        if self.template != "eaton-ups" and self.ups is not None:
            raise ValueError(f"template {self.template} has no UPS-MIB: use eaton-ups")
        if self.template == "host-resources" and self.host is None:
            raise ValueError("template host-resources needs host: (cpu, memory, filesystems)")
        vendor_tables = self.template in ("huawei-vrp", "h3c-comware")
        if (self.fans or self.power_supplies) and not vendor_tables:
            raise ValueError(
                f"template {self.template} has no fan or power tables: "
                "use huawei-vrp or h3c-comware"
            )
        self._check_part_names()
        indexes = [i.index for i in self.interfaces.values() if i.index is not None]
        if len(indexes) != len(set(indexes)):
            raise ValueError("two interfaces have the same index")
        return self

    def _check_part_names(self) -> None:
        """Huawei numbers fans SLOT/FAN and names power modules; H3C numbers both."""
        if self.template == "huawei-vrp":
            bad = [n for n in self.fans if not _SLOT_FAN.match(n)]
            if bad:
                raise ValueError(f"huawei-vrp fans are named SLOT/FAN, e.g. 0/1, not {bad[0]!r}")
            clash = set(self.power_supplies) & set(self.entities)
            if clash:
                raise ValueError(f"{sorted(clash)[0]!r} is both an entity and a power supply")
        elif self.template == "h3c-comware":
            for part in (*self.fans, *self.power_supplies):
                if not part.isdigit() or int(part) < 1:
                    raise ValueError(
                        f"h3c-comware fans and power supplies are numbered 1, 2, ...: {part!r}"
                    )


class Expect(Strict):
    """What the rule pack should make of a fault: the alarm (and so the ticket) it opens."""

    device: str
    rule: str
    level: Level


class Fault(Strict):
    summary: str = Field(min_length=1)
    expect: list[Expect] = Field(default_factory=list)
    patch: dict[str, dict[str, Any]] = Field(min_length=1)


class FleetFile(Strict):
    """The whole file; faults are checked against the devices by :mod:`lab.fleet`."""

    devices: list[dict[str, Any]] = Field(min_length=1)
    faults: dict[str, Fault] = Field(default_factory=dict)
