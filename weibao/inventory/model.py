"""The inventory schema (pydantic): what is under contract, for whom, and how to inspect it.

Shape: customers → contracts → sites → devices. Every model forbids unknown keys so a
typo is an error, not a silently ignored setting. Checks that need the whole file
(unique names, ``depends_on`` targets and cycles) live in :mod:`weibao.inventory.checks`;
secrets are references (:mod:`weibao.secrets`), never values.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from weibao.durations import format_duration, parse_duration
from weibao.levels import DEFAULT_SLA, Level, SlaTerms
from weibao.secrets import SecretRef


def _to_duration(value: Any) -> timedelta:
    return parse_duration(value)


def _to_secret(value: Any) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    return SecretRef.parse(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    PlainSerializer(format_duration, return_type=str),
]
Secret = Annotated[SecretRef, BeforeValidator(_to_secret), PlainSerializer(str, return_type=str)]

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_address(value: str) -> str:
    """An IPv4/IPv6 address or a DNS host name; anything else is a typo waiting to time out."""
    text = value.strip()
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", text) or not _HOSTNAME.match(text):
        raise ValueError(f"{value!r} is neither an IP address nor a valid host name")
    return text


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Person(Strict):
    name: str = Field(min_length=1)
    phone: str | None = None
    email: str | None = None
    wecom: str | None = Field(default=None, description="WeCom (企业微信) user id")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


class LevelTerms(Strict):
    """One level's clocks; unset fields keep the default of SPEC.md."""

    response: Duration | None = None
    onsite_hq: Duration | None = Field(default=None, description="on site (or plan) at an HQ site")
    onsite_remote: Duration | None = None
    resolve: Duration | None = None


class SlaPolicy(Strict):
    """Per-level overrides keyed by level (``I``..``IV``)."""

    levels: dict[Level, LevelTerms] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _levels_at_top(cls, data: Any) -> Any:
        # Users write `sla: {I: {...}, II: {...}}`; keep that form.
        if isinstance(data, dict) and "levels" not in data:
            return {"levels": data}
        return data

    def terms(self, level: Level) -> SlaTerms:
        base = DEFAULT_SLA[level]
        over = self.levels.get(level)
        if over is None:
            return base
        return SlaTerms(
            response=over.response or base.response,
            onsite_hq=over.onsite_hq or base.onsite_hq,
            onsite_remote=over.onsite_remote or base.onsite_remote,
            resolve=over.resolve or base.resolve,
        )


class Criticality(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    critical = "critical"


class DeviceKind(StrEnum):
    server = "server"
    switch = "switch"
    router = "router"
    firewall = "firewall"
    storage = "storage"
    ups = "ups"
    bmc = "bmc"
    wireless = "wireless"
    load_balancer = "load_balancer"
    pdu = "pdu"
    other = "other"


class Schedule(Strict):
    health_interval: Duration = Field(default=timedelta(seconds=60))
    full_cron: str = Field(default="30 2 * * *", description="full inspection, cron syntax")

    @field_validator("health_interval")
    @classmethod
    def _interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=10):
            raise ValueError("health_interval below 10s would load the customer's devices")
        return value

    @field_validator("full_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (e.g. '30 2 * * *')")
        return value


class MaintenanceWindow(Strict):
    """A planned window: alarms inside it are recorded but open no ticket.

    Either a one-off ``start``/``end`` (with UTC offset), or a recurring ``cron`` start with
    a ``duration``, evaluated in the site's time zone.
    """

    start: datetime | None = None
    end: datetime | None = None
    cron: str | None = None
    duration: Duration | None = None
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceWindow:
        one_off = self.start is not None or self.end is not None
        recurring = self.cron is not None or self.duration is not None
        if one_off == recurring:
            raise ValueError("a maintenance window is either start/end or cron/duration")
        if one_off:
            if self.start is None or self.end is None:
                raise ValueError("a one-off maintenance window needs both start and end")
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError("maintenance start/end need a UTC offset, e.g. +08:00")
            if self.end <= self.start:
                raise ValueError("maintenance window ends before it starts")
        else:
            if self.cron is None or self.duration is None:
                raise ValueError("a recurring maintenance window needs both cron and duration")
            if not croniter.is_valid(self.cron):
                raise ValueError(f"{self.cron!r} is not a cron expression")
        return self


class AgentInspection(Strict):
    """The device runs the weibao agent; identity fields help match its pushes."""

    hostname: str | None = None
    machine_id: str | None = None


AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["des", "aes", "aes128", "aes192", "aes256"]


class SnmpInspection(Strict):
    version: Literal["1", "2c", "3"] = "2c"
    community: Secret | None = None
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: Secret | None = None
    priv_protocol: PrivProtocol | None = None
    priv_key: Secret | None = None
    context: str | None = None
    port: int = Field(default=161, ge=1, le=65535)
    timeout: Duration = Field(default=timedelta(seconds=2), description="per request")
    retries: int = Field(default=1, ge=0, le=5)
    max_repetitions: int = Field(default=25, ge=1, le=200)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return {"2": "2c", "v2c": "2c", "v1": "1", "v3": "3", 1: "1", 2: "2c", 3: "3"}.get(
            value, str(value) if isinstance(value, int) else value
        )

    @model_validator(mode="after")
    def _credentials(self) -> SnmpInspection:
        if self.version in ("1", "2c"):
            if self.community is None:
                raise ValueError(f"SNMP v{self.version} needs community: env:NAME or file:/path")
        else:
            if not self.user:
                raise ValueError("SNMPv3 needs user (and auth_protocol/auth_key for authNoPriv)")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise ValueError("SNMPv3 auth needs both auth_protocol and auth_key")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise ValueError("SNMPv3 privacy needs both priv_protocol and priv_key")
            if self.priv_protocol is not None and self.auth_protocol is None:
                raise ValueError("SNMPv3 privacy (authPriv) also needs auth_protocol and auth_key")
        return self

    @property
    def weak(self) -> list[str]:
        """Protocols that work but should be replaced; reported, not refused."""
        weak = []
        if self.version in ("1", "2c"):
            weak.append(f"SNMP v{self.version} sends the community in clear text")
        if self.auth_protocol == "md5":
            weak.append("MD5 authentication is weak: prefer sha256")
        if self.priv_protocol == "des":
            weak.append("DES privacy is weak: prefer aes128 or aes256")
        return weak


class SshInspection(Strict):
    user: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    key: Secret | None = Field(default=None, description="private key file: file:/path")
    password: Secret | None = None
    host_key: str | None = Field(default=None, description="pinned SHA256:... fingerprint")
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    os: str = Field(default="linux", description="command profile: linux, huawei-vrp, ...")
    timeout: Duration = Field(default=timedelta(seconds=10))

    @field_validator("host_key")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}=?", value):
            raise ValueError(
                f"{value!r} is not a SHA256 fingerprint: copy it from "
                "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` (SHA256:...)"
            )
        return value

    @model_validator(mode="after")
    def _auth_and_trust(self) -> SshInspection:
        if self.key is None and self.password is None:
            raise ValueError("SSH needs key (file:/path) or password (env:NAME or file:/path)")
        if self.host_key is None and self.known_hosts is None and not self.trust_on_first_use:
            raise ValueError(
                "SSH needs host_key (pinned fingerprint) or known_hosts, or an explicit "
                "trust_on_first_use: true"
            )
        return self


class Inspection(Strict):
    agent: AgentInspection | None = None
    snmp: SnmpInspection | None = None
    ssh: SshInspection | None = None

    @property
    def methods(self) -> list[str]:
        return [m for m in ("agent", "snmp", "ssh") if getattr(self, m) is not None]


def _listify(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


class Device(Strict):
    name: str = Field(description="unique in the whole inventory")
    kind: DeviceKind
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    warranty_end: date | None = None
    address: str | None = None
    role: str | None = Field(default=None, description="core, distribution, access, ...")
    criticality: Criticality = Criticality.normal
    tags: list[str] = Field(default_factory=list)
    depends_on: Annotated[list[str], BeforeValidator(_listify)] = Field(
        default_factory=list,
        description="upstream device; several names form a redundant group",
    )
    inspect: Inspection = Field(default_factory=Inspection)
    schedule: Schedule | None = None
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    notes: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r}: device names use letters, digits, '.', '_' and '-' (max 100)"
            )
        return value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else check_address(value)

    @model_validator(mode="after")
    def _reachable(self) -> Device:
        if (self.inspect.snmp or self.inspect.ssh) and not self.address:
            raise ValueError(f"device {self.name} is inspected over the network but has no address")
        return self


class Site(Strict):
    name: str = Field(min_length=1)
    hq: bool = Field(default=False, description="headquarters: shorter on-site time")
    address: str | None = None
    timezone: str = "Asia/Shanghai"
    engineers: list[Person] = Field(default_factory=list)
    concurrency: int = Field(default=4, ge=1, le=256, description="parallel inspections")
    travel_time: Duration | None = None
    schedule: Schedule | None = None
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
        return value


class Contract(Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    start: date
    end: date
    service_manager: Person
    customer_contact: Person | None = None
    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if isinstance(start, date) and end < start:
            raise ValueError(f"contract ends ({end}) before it starts ({start})")
        return end


class Customer(Strict):
    name: str = Field(min_length=1)
    code: str | None = None
    contracts: list[Contract] = Field(default_factory=list)


class Defaults(Strict):
    schedule: Schedule = Field(default_factory=Schedule)


class DeviceContext(BaseModel):
    """A device with everything above it, which is what SLA and rule code need."""

    model_config = ConfigDict(frozen=True)

    customer: Customer
    contract: Contract
    site: Site
    device: Device

    @property
    def schedule(self) -> Schedule:
        return self.device.schedule or self.site.schedule or Schedule()

    def sla(self, level: Level) -> SlaTerms:
        return self.contract.sla.terms(level)


class Inventory(Strict):
    version: Literal[1] = 1
    defaults: Defaults = Field(default_factory=Defaults)
    customers: list[Customer] = Field(default_factory=list)

    def contexts(self) -> list[DeviceContext]:
        return [
            DeviceContext(customer=cu, contract=co, site=si, device=de)
            for cu in self.customers
            for co in cu.contracts
            for si in co.sites
            for de in si.devices
        ]

    def device_index(self) -> dict[str, DeviceContext]:
        return {ctx.device.name: ctx for ctx in self.contexts()}

    def find(self, device: str) -> DeviceContext | None:
        return self.device_index().get(device)
