"""The reports as data: one pydantic model per report, which is also the JSON format.

Every figure a rendered report shows is a field here, computed once by the builders
(:mod:`desk.reports.inspection`, :mod:`desk.reports.quarterly`); the renderers only lay
it out and translate labels, so HTML, PDF, XLSX and JSON can never disagree.
Ratios are 0..1 (rendered as percentages); durations are seconds; times are UTC and
rendered in the report's time zone; ``None`` means "no data", never zero.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_Day = date
"""``date`` under another name: ``Signer.date`` shadows the type in its class body."""
Language = Literal["zh", "en"]
Verdict = Literal["healthy", "findings", "unknown"]
"""正常 / 异常 / 未知: a device never reached in the period is unknown, never healthy."""
ClockKey = Literal["response", "onsite", "resolve"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- shared parts -------------------------------------------------------------------


class Company(_Model):
    """The service company, from the inventory's ``reports:`` section (the cover)."""

    name: str
    address: str | None = None
    phone: str | None = None
    logo_svg: str | None = Field(default=None, description="inline SVG or data: URI of the logo")


class Period(_Model):
    start: date
    end: date
    """The last day included."""
    timezone: str = "Asia/Shanghai"
    label: str
    """``2026-11`` for a month, ``2026-Q4`` for a quarter."""


class Signer(_Model):
    role: Literal["prepared", "checked", "approved", "engineer", "customer"]
    name: str | None = None
    date: _Day | None = None
    """None: left blank for a handwritten date."""


class ContractRef(_Model):
    id: str
    name: str
    start: date
    end: date
    service_manager: str
    customer_contact: str | None = None


class LevelCounts(_Model):
    """Counts per fault level; keys are ``I`` .. ``IV`` and every key is present."""

    I: int = 0  # noqa: E741
    II: int = 0
    III: int = 0
    IV: int = 0

    @property
    def total(self) -> int:
        return self.I + self.II + self.III + self.IV


# --- the inspection report ----------------------------------------------------------


class TicketSummary(_Model):
    opened: LevelCounts
    resolved: LevelCounts
    """Opened in the period and resolved (or closed) by its end."""
    still_open: LevelCounts
    """Any ticket of the customer not resolved at the period's end."""


class InspectionSummary(_Model):
    devices: int
    """Under contract during the period."""
    inspected: int
    """Reached at least once."""
    healthy: int
    findings: int
    unknown: int


class Named(_Model):
    """A figure with what it belongs to: the fullest filesystem, the hottest sensor."""

    name: str
    value: float


class Stat(_Model):
    mean: float | None = None
    peak: float | None = None


class UpsFigures(_Model):
    charge_min: float | None = None
    minutes_remaining_min: float | None = None
    on_battery_samples: int = 0
    replace_battery: bool = False


class Figures(_Model):
    """The figures behind a verdict, over the period (from the rollups)."""

    availability: float | None = None
    """Share of inspections in which the device answered."""
    inspections: int = 0
    cpu: Stat = Field(default_factory=Stat)
    memory: Stat = Field(default_factory=Stat)
    fullest_storage: Named | None = None
    """Highest usage ratio of a filesystem or storage pool (its peak)."""
    hottest: Named | None = None
    """Highest temperature, °C, and its sensor."""
    fans: int | None = None
    fans_failed: int | None = None
    power_supplies: int | None = None
    power_supplies_failed: int | None = None
    interface_errors_peak: float | None = None
    """Highest sum of interface error rates, per second."""
    ups: UpsFigures | None = None


class EvidenceSample(_Model):
    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    value: float


class Evidence(_Model):
    """Why a device is 异常: the ticket, the sample that fired, what the device said."""

    ticket: str
    level: str
    rule: str
    title: str
    samples: list[EvidenceSample] = Field(default_factory=list)
    raw: dict[str, str] = Field(default_factory=dict)
    """Excerpts of the raw SSH output or SNMP values (bounded), by command or table; the
    one most relevant to the rule first."""
    raw_lines: dict[str, int] = Field(default_factory=dict)
    """How many lines each output of ``raw`` had before it was cut."""


class DeviceResult(_Model):
    name: str
    kind: str
    site: str
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    address: str | None = None
    warranty_end: date | None = None
    verdict: Verdict
    unknown_reason: str | None = None
    """Why a device is 未知: never reached, the last error, ..."""
    last_seen: datetime | None = None
    figures: Figures = Field(default_factory=Figures)
    findings: list[str] = Field(default_factory=list)
    """Ticket numbers."""
    evidence: list[Evidence] = Field(default_factory=list)


class Finding(_Model):
    """A customer-facing ticket of the period (internal monitoring tickets are left out)."""

    ticket: str
    device: str
    level: str
    rule: str
    title: str
    detected_at: datetime
    status: str
    recovered_at: datetime | None = None
    resolved_at: datetime | None = None
    cause: str | None = None


class CarriedOver(_Model):
    """A finding left open at the end of an earlier period (遗留问题) and what became of it."""

    ticket: str
    device: str
    level: str
    title: str
    detected_at: datetime
    status: str
    """The ticket's status at the end of this period."""
    fixed: bool
    """True once an inspection found the device healthy again (the fault cleared)."""
    fixed_at: datetime | None = None


class Expiring(_Model):
    kind: Literal["contract", "warranty"]
    name: str
    """The contract's id, or the device's name."""
    ends: date
    days_left: int


class Unmanaged(_Model):
    """A device that reports but is not under contract."""

    device: str
    source: str
    first_seen: datetime
    last_seen: datetime


class Recommendation(_Model):
    rule: str
    title: str
    devices: list[str]
    advice: str
    """The rule's knowledge text."""


class InspectionReport(_Model):
    kind: Literal["inspection"] = "inspection"
    number: str
    """``XJ-<customer code>-<YYYYMM>``: the same period gives the same number."""
    language: Language = "zh"
    generated_at: datetime
    company: Company
    confidentiality: str
    customer: str
    customer_code: str | None = None
    contracts: list[ContractRef]
    period: Period
    inspection_dates: list[date]
    """Days on which a full (daily) inspection of at least one device ran."""
    signers: list[Signer]
    """Document control: prepared, checked, approved; then the sign-off block."""
    summary: InspectionSummary
    tickets: TicketSummary
    devices: list[DeviceResult]
    findings: list[Finding]
    carried_over: list[CarriedOver]
    expiring: list[Expiring]
    unmanaged: list[Unmanaged]
    recommendations: list[Recommendation]


# --- the quarterly statistics ---------------------------------------------------------


class ClockCompliance(_Model):
    """One SLA clock over the tickets that ran it: met in time, missed, and the share."""

    measured: int
    met: int
    missed: int
    ratio: float | None = None


class Durations(_Model):
    """Time to acknowledge, arrive (or plan) or resolve, counted as the SLA counts it
    (the contract's service hours where it has a calendar, pauses excluded)."""

    count: int
    mean_seconds: float | None = None
    p90_seconds: float | None = None


class Satisfaction(_Model):
    count: int
    mean: float | None = None
    """1..5, from the customer's sign-off."""
    distribution: dict[str, int] = Field(default_factory=dict)


class TicketStats(_Model):
    """The statistics of one scope (the company, a customer or a contract)."""

    scope: Literal["company", "customer", "contract"]
    name: str
    tickets: int
    by_level: LevelCounts
    by_month: dict[str, LevelCounts]
    """``YYYY-MM`` -> tickets opened that month per level."""
    by_rule: dict[str, int]
    compliance: dict[ClockKey, ClockCompliance]
    times: dict[Literal["acknowledge", "arrive", "resolve"], Durations]
    repeat_incidents: int
    """Tickets that recurred after recovery or repeat an earlier fault on the device."""
    reopened: int
    reopen_rate: float | None = None
    escalations: int
    parts_used: int
    rmas: int
    satisfaction: Satisfaction


class Miss(_Model):
    ticket: str
    customer: str
    contract: str
    level: str
    clock: ClockKey
    due: datetime
    met_at: datetime | None = None
    """None: still running past its due time at the period's end."""
    late_seconds: float
    cause: str | None = None
    """What the ticket records: the resolution's cause, a pause reason or a note."""


class EngineerStats(_Model):
    name: str
    tickets: int
    acknowledged: int
    resolved: int
    mean_acknowledge_seconds: float | None = None
    mean_resolve_seconds: float | None = None
    misses: int
    satisfaction: float | None = None


class DeviceAvailability(_Model):
    device: str
    customer: str
    contract: str
    availability: float | None = None
    service_availability: float | None = None
    """Within the contract's service hours (= availability for a 24x7 contract)."""


class Ranked(_Model):
    name: str
    tickets: int


class PartLine(_Model):
    ticket: str
    device: str
    part_number: str
    name: str
    quantity: int
    rma_number: str | None = None
    rma_status: str | None = None


class QuarterPoint(_Model):
    label: str
    """``2026-Q3``."""
    tickets: int
    compliance: dict[ClockKey, float | None]
    mean_resolve_seconds: float | None = None


class QuarterlyReport(_Model):
    kind: Literal["quarterly"] = "quarterly"
    number: str
    """``TJ-<scope>-<YYYY>Q<n>``."""
    language: Language = "zh"
    generated_at: datetime
    company: Company
    confidentiality: str
    period: Period
    customer: str | None = None
    """Set when the statistics are of one customer (a customer's token gets only these)."""
    contract: str | None = None
    totals: TicketStats
    customers: list[TicketStats]
    contracts: list[TicketStats]
    misses: list[Miss]
    engineers: list[EngineerStats]
    availability: list[DeviceAvailability]
    top_devices: list[Ranked]
    top_rules: list[Ranked]
    parts: list[PartLine]
    trend: list[QuarterPoint]
    """The last four quarters, oldest first, this one last."""
    internal_tickets: int | None = None
    """Company-wide statistics only: monitoring's own tickets (a collector or agent
    silent) opened in the period, counted here and in no other figure; None otherwise."""


Report = InspectionReport | QuarterlyReport
