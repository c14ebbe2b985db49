"""The inventory schema (pydantic): what is under contract, for whom, and how to inspect it.

Shape: customers → contracts → sites → devices. Every model forbids unknown keys so a
typo is an error, not a silently ignored setting. Checks that need the whole file
(unique names, ``depends_on`` targets and cycles) live in :mod:`weibao.inventory.checks`
and :mod:`weibao.inventory.graph`;
the loader runs them on the raw YAML with line numbers, and :class:`Inventory` repeats
them (without lines) when it is built from Python data. Secrets are references
(:mod:`weibao.secrets`), never values.

Validators raise :class:`InvalidValue`, a ValueError that also carries a hint: the
loader shows the message and, on the next line, what to do about it.
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

from weibao.durations import format_duration
from weibao.inventory.alertmanager import AlertmanagerSettings
from weibao.inventory.graph import inventory_problems
from weibao.inventory.notify import NotificationSettings
from weibao.inventory.reports import ReportSettings
from weibao.inventory.values import InvalidValue, to_duration, to_secret
from weibao.levels import DEFAULT_SLA, Level, SlaTerms
from weibao.secrets import SecretRef

# The field readers every part of the schema shares (kept under their old names here).
_to_duration = to_duration
_to_secret = to_secret


def _to_level(value: Any) -> Level:
    try:
        return Level.parse(value)
    except ValueError:
        raise InvalidValue(
            f"unknown fault level {value!r}",
            "fault levels are I, II, III and IV (I is the most severe; see docs/inventory.md)",
        ) from None


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    PlainSerializer(format_duration, return_type=str),
]
Secret = Annotated[SecretRef, BeforeValidator(_to_secret), PlainSerializer(str, return_type=str)]
LevelKey = Annotated[Level, BeforeValidator(_to_level)]

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
        raise InvalidValue(
            f"{value!r} is neither an IP address nor a valid host name",
            "write an IPv4 address (192.0.2.10), an IPv6 address (2001:db8::10) or a DNS name "
            "(sw1.example.cn); no port, no scheme",
        )
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
            raise InvalidValue(
                f"{value!r} is not an e-mail address", "write e.g. li.lei@example.cn"
            )
        return value


class LevelTerms(Strict):
    """One level's clocks; unset fields keep the default of SPEC.md."""

    response: Duration | None = None
    onsite_hq: Duration | None = Field(default=None, description="on site (or plan) at an HQ site")
    onsite_remote: Duration | None = None
    resolve: Duration | None = None


class SlaPolicy(Strict):
    """Per-level overrides keyed by level (``I``..``IV``)."""

    levels: dict[LevelKey, LevelTerms] = Field(default_factory=dict)

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
        # `is not None`, not `or`: an override of 0s is a (strict) term, not a missing one.
        return SlaTerms(
            response=base.response if over.response is None else over.response,
            onsite_hq=base.onsite_hq if over.onsite_hq is None else over.onsite_hq,
            onsite_remote=base.onsite_remote if over.onsite_remote is None else over.onsite_remote,
            resolve=base.resolve if over.resolve is None else over.resolve,
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


_CRON_HINT = "write five fields: minute hour day-of-month month day-of-week, e.g. '30 2 * * *'"


class Schedule(Strict):
    health_interval: Duration = Field(default=timedelta(seconds=60))
    full_cron: str = Field(default="30 2 * * *", description="full inspection, cron syntax")

    @field_validator("health_interval")
    @classmethod
    def _interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=10):
            raise InvalidValue(
                "health_interval below 10s would load the customer's devices",
                "use 10s or more; 60s is the default",
            )
        return value

    @field_validator("full_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise InvalidValue(f"{value!r} is not a cron expression", _CRON_HINT)
        return value

    def merged(self, over: Schedule | None) -> Schedule:
        """This schedule with the fields that ``over`` sets explicitly taking precedence."""
        if over is None:
            return self
        return self.model_copy(update={f: getattr(over, f) for f in over.model_fields_set})


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
        shapes = "write start and end (one-off) or cron and duration (recurring)"
        if one_off == recurring:
            raise InvalidValue("a maintenance window is either start/end or cron/duration", shapes)
        if one_off:
            if self.start is None or self.end is None:
                raise InvalidValue("a one-off maintenance window needs both start and end", shapes)
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise InvalidValue(
                    "maintenance start/end need a UTC offset",
                    "write e.g. 2026-05-01T22:00:00+08:00",
                )
            if self.end <= self.start:
                raise InvalidValue(
                    f"maintenance window ends ({self.end}) before it starts ({self.start})",
                    "swap start and end, or fix the date",
                )
        else:
            if self.cron is None or self.duration is None:
                raise InvalidValue(
                    "a recurring maintenance window needs both cron and duration", shapes
                )
            if not croniter.is_valid(self.cron):
                raise InvalidValue(f"{self.cron!r} is not a cron expression", _CRON_HINT)
        return self


class AgentInspection(Strict):
    """The device runs the weibao agent; identity fields help match its pushes."""

    hostname: str | None = None
    machine_id: str | None = None


AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["des", "aes", "aes128", "aes192", "aes256", "aes192c", "aes256c"]
"""aes192c and aes256c: the key extension Cisco uses (net-snmp's AES-192-C, AES-256-C)."""


def normalize_protocol(value: Any) -> Any:
    """Protocol names as net-snmp users type them (``SHA``, ``SHA-256``, ``AES``,
    ``AES-128``) become ours (``sha``, ``sha256``, ``aes``, ``aes128``)."""
    if not isinstance(value, str):
        return value
    return value.strip().lower().replace("-", "")


class SnmpInspection(Strict):
    version: Literal["1", "2c", "3"] = "2c"
    community: Secret | None = None
    user: str | None = None
    auth_protocol: Annotated[AuthProtocol | None, BeforeValidator(normalize_protocol)] = None
    auth_key: Secret | None = None
    priv_protocol: Annotated[PrivProtocol | None, BeforeValidator(normalize_protocol)] = None
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
        v3 = "e.g. user: weibao, auth_protocol: sha256, auth_key: env:NAME, priv_protocol: aes128, "
        v3 += "priv_key: env:NAME"
        if self.version in ("1", "2c"):
            if self.community is None:
                raise InvalidValue(
                    f"SNMP v{self.version} needs a community",
                    "add community: env:NAME or community: file:/path",
                )
        else:
            if not self.user:
                raise InvalidValue("SNMPv3 needs a user", v3)
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise InvalidValue("SNMPv3 auth needs both auth_protocol and auth_key", v3)
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise InvalidValue("SNMPv3 privacy needs both priv_protocol and priv_key", v3)
            if self.priv_protocol is not None and self.auth_protocol is None:
                raise InvalidValue(
                    "SNMPv3 privacy (authPriv) also needs auth_protocol and auth_key", v3
                )
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
    os: str = Field(
        default="linux", description="command profile: linux, huawei-vrp, h3c-comware, cisco-ios"
    )
    timeout: Duration = Field(default=timedelta(seconds=10))

    @field_validator("host_key")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}=?", value):
            raise InvalidValue(
                f"{value!r} is not a SHA256 host key fingerprint",
                "copy it from `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the device "
                "(it starts with SHA256:)",
            )
        return value

    @model_validator(mode="after")
    def _auth_and_trust(self) -> SshInspection:
        if self.key is None and self.password is None:
            raise InvalidValue(
                "SSH needs a key or a password",
                "add key: file:/path (a private key) or password: env:NAME",
            )
        if self.host_key is None and self.known_hosts is None and not self.trust_on_first_use:
            raise InvalidValue(
                "SSH needs a way to verify the device's host key",
                "add host_key: SHA256:... (pinned fingerprint) or known_hosts: /path, "
                "or an explicit trust_on_first_use: true",
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
            raise InvalidValue(
                f"{value!r} is not a valid device name",
                "device names use letters, digits, '.', '_' and '-', start with a letter or "
                "digit, at most 100 characters (they appear in tickets and depends_on)",
            )
        return value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else check_address(value)

    @model_validator(mode="after")
    def _reachable(self) -> Device:
        if (self.inspect.snmp or self.inspect.ssh) and not self.address:
            raise InvalidValue(
                f"device {self.name} is inspected over the network but has no address",
                "add address: with its IP address or DNS name",
            )
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
            raise InvalidValue(
                f"{value!r} is not an IANA time zone", "write e.g. Asia/Shanghai or Asia/Urumqi"
            ) from None
        return value


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class Calendar(Strict):
    """Business hours the SLA clocks count in, instead of 24x7.

    Chinese calendars move working days around public holidays (调休): ``holidays`` are
    days off even on a weekday, ``workdays`` are working days even at a weekend.
    """

    hours: Annotated[list[str], BeforeValidator(_listify)] = Field(
        default_factory=lambda: ["09:00-18:00"],
        description="working hours of a day, e.g. 09:00-18:00 or [09:00-12:00, 13:30-18:00]",
    )
    days: list[str] = Field(default_factory=lambda: list(_WEEKDAYS[:5]))
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)
    levels: list[LevelKey] = Field(
        default_factory=lambda: list(Level),
        description="levels whose clocks follow the calendar; the others run 24x7",
    )

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: list[str]) -> list[str]:
        spans = []
        for text in value:
            m = _HOURS.match(str(text).replace(" ", ""))
            if m is None or (int(m[3]) * 60 + int(m[4])) <= (int(m[1]) * 60 + int(m[2])):
                raise InvalidValue(
                    f"{text!r} is not a span of working hours",
                    "write HH:MM-HH:MM with the end after the start, e.g. 09:00-18:00",
                )
            spans.append(str(text).replace(" ", ""))
        if not spans:
            raise InvalidValue("a calendar needs working hours", "write e.g. hours: 09:00-18:00")
        return sorted(spans)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        full = dict(zip(_FULL_WEEKDAYS, _WEEKDAYS, strict=True))
        given = [str(d).strip().lower() for d in value]
        days = [full.get(d, d) for d in given]
        wrong = [g for g, d in zip(given, days, strict=True) if d not in _WEEKDAYS]
        if wrong or not days:
            raise InvalidValue(
                f"unknown weekday(s) {wrong}" if wrong else "a calendar needs working days",
                "write days as mon, tue, wed, thu, fri, sat, sun",
            )
        return days

    def spans(self) -> list[tuple[int, int]]:
        """Working spans as minutes after midnight, sorted."""
        out = []
        for text in self.hours:
            a, b = text.split("-")
            out.append((int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])))
        return out

    def weekdays(self) -> set[int]:
        return {_WEEKDAYS.index(d) for d in self.days}


class AutoClose(Strict):
    """Close recovered tickets of minor levels without an engineer, after a quiet period."""

    levels: list[LevelKey] = Field(default_factory=lambda: [Level.III, Level.IV])
    after: Duration = Field(default=timedelta(hours=24), description="quiet time after recovery")


class Contract(Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    start: date
    end: date
    service_manager: Person
    customer_contact: Person | None = None
    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    calendar: Calendar | None = Field(default=None, description="business hours; none = 24x7")
    pause_reasons: list[str] = Field(
        default_factory=list,
        description="reasons for which the resolution clock may be paused; none = no pausing",
    )
    auto_close: AutoClose | None = None
    recurrence_window: Duration = Field(default=timedelta(hours=24))
    followup_after: Duration = Field(default=timedelta(days=3), description="回访 after closing")
    escalate_at: float = Field(
        default=0.8, gt=0, lt=1, description="share of a clock at which the manager is warned"
    )
    senior_engineers: list[Person] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if isinstance(start, date) and end < start:
            raise InvalidValue(
                f"contract ends ({end}) before it starts ({start})",
                "check the years: dates are YYYY-MM-DD and end must not be before start",
            )
        return end


class Customer(Strict):
    name: str = Field(min_length=1)
    code: str | None = None
    contracts: list[Contract] = Field(default_factory=list)


class Defaults(Strict):
    """Values every device inherits unless its site or itself says otherwise."""

    schedule: Schedule = Field(default_factory=Schedule)


WHOLE_FILE_CHECKED = "whole_file_checked"
"""Validation context key: the caller has run :mod:`weibao.inventory.checks` already."""


class DeviceContext(BaseModel):
    """A device with everything above it, which is what SLA and rule code need."""

    model_config = ConfigDict(frozen=True)

    customer: Customer
    contract: Contract
    site: Site
    device: Device
    defaults: Defaults = Field(default_factory=Defaults)

    @property
    def schedule(self) -> Schedule:
        """Inventory defaults, then the site's, then the device's: the most specific key wins.

        Merged key by key, so a device that only sets ``health_interval`` keeps the
        site's (or the defaults') ``full_cron``.
        """
        return self.defaults.schedule.merged(self.site.schedule).merged(self.device.schedule)

    def sla(self, level: Level) -> SlaTerms:
        return self.contract.sla.terms(level)

    def onsite(self, level: Level) -> timedelta:
        """The on-site (or plan) term for this device's site: HQ sites are served faster."""
        return self.sla(level).onsite(self.site.hq)


class Inventory(Strict):
    version: Literal[1] = 1
    defaults: Defaults = Field(default_factory=Defaults)
    customers: list[Customer] = Field(default_factory=list)
    alertmanager: AlertmanagerSettings = Field(default_factory=AlertmanagerSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)

    @model_validator(mode="after")
    def _whole(self, info: ValidationInfo) -> Inventory:
        # The loader already ran these checks on the raw file (with line numbers); built
        # from Python data, the inventory must still refuse what the loader refuses.
        if info.context and info.context.get(WHOLE_FILE_CHECKED):
            return self
        problems = inventory_problems(self)
        if problems:
            raise InvalidValue("; ".join(problems), "fix the names and depends_on entries")
        return self

    def contexts(self) -> list[DeviceContext]:
        return [
            DeviceContext(customer=cu, contract=co, site=si, device=de, defaults=self.defaults)
            for cu in self.customers
            for co in cu.contracts
            for si in co.sites
            for de in si.devices
        ]

    def device_index(self) -> dict[str, DeviceContext]:
        return {ctx.device.name: ctx for ctx in self.contexts()}

    def find(self, device: str) -> DeviceContext | None:
        return self.device_index().get(device)
