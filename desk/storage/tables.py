"""The database schema as SQLAlchemy 2 typed ORM tables.

Only :mod:`desk.storage` imports these; the rest of the desk sees plain records, so a
schema change never ripples beyond this package. Every change here needs an Alembic
revision in ``desk/migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Explicit constraint names so migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zone type and would hand back naive values; a naive value on the
    way in is a bug in the caller, refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored: pass an aware time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class ObservationRow(Base):
    """Every observation received, stored once by its id (replays are duplicates)."""

    __tablename__ = "observations"
    __table_args__ = (
        # Re-reading one device's hour for its rollup, and its latest observations.
        Index("ix_observations_device_time", "device", "time"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(String(20))
    time: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(
        index=True, doc="how far rollups have read (desk.rollups)"
    )
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(Text)
    samples: Mapped[list[Any]]
    meta: Mapped[dict[str, Any]]
    known_device: Mapped[bool] = mapped_column(
        doc="false when the device is not in the inventory: kept, so nothing is lost"
    )


class RawOutputRow(Base):
    """The latest verbatim answer of each device per source (SSH command output, SNMP
    values), for the snapshot of a ticket the observation opens. Only the latest is kept:
    every observation's raw text, every minute, would outgrow the database."""

    __tablename__ = "raw_outputs"

    device: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    observation_id: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime]
    outputs: Mapped[dict[str, Any]]


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # One active ticket per fault, enforced by the database even with several desks.
        Index(
            "uq_tickets_active_fingerprint",
            "fingerprint",
            unique=True,
            sqlite_where=text("status <> 'closed'"),
            postgresql_where=text("status <> 'closed'"),
        ),
        # The queue and the dashboard read open tickets only, however long the history.
        Index(
            "ix_tickets_open",
            "id",
            sqlite_where=text("status <> 'closed'"),
            postgresql_where=text("status <> 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(500), index=True)
    rule: Mapped[str] = mapped_column(String(200))
    customer: Mapped[str] = mapped_column(String(200), index=True)
    contract: Mapped[str] = mapped_column(String(200))
    site: Mapped[str] = mapped_column(String(200))
    site_hq: Mapped[bool]
    timezone: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(200), index=True)
    level: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    labels: Mapped[dict[str, Any]]
    detected_at: Mapped[datetime]
    due_response: Mapped[datetime]
    due_onsite: Mapped[datetime]
    due_resolve: Mapped[datetime]
    met_response: Mapped[datetime | None]
    met_onsite: Mapped[datetime | None]
    met_resolve: Mapped[datetime | None]
    recovered_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime]
    evidence_count: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    assignee: Mapped[str | None] = mapped_column(String(200))
    internal: Mapped[bool] = mapped_column(
        server_default=text("false"), doc="monitoring's own fault: our operations, not the customer"
    )
    recurrences: Mapped[int] = mapped_column(server_default=text("0"))
    related: Mapped[list[Any]] = mapped_column(server_default=text("'[]'"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'"))
    resolved_at: Mapped[datetime | None]
    signed_off_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    followup_due_at: Mapped[datetime | None] = mapped_column(index=True)
    followup_done_at: Mapped[datetime | None]


class EscalationRow(Base):
    """One escalation step of one clock, claimed once: the unique key is what keeps a step
    from being sent twice after a restart or by a second desk process."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index("uq_escalations_step", "ticket_id", "clock", "step", "due", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(String(20))
    step: Mapped[str] = mapped_column(String(20))
    due: Mapped[datetime]
    at: Mapped[datetime]


class OutboxRow(Base):
    """A notification waiting to be sent, sent, or given up on (kept, so failures show)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    ticket: Mapped[str | None] = mapped_column(String(20))
    notice: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class PartRow(Base):
    """Spare-part stock (备件库): what is on the shelf, decremented when a part is used."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    part_number: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    location: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class PartUseRow(Base):
    """A part used or replaced on a ticket, with the serials out and in and any vendor RMA."""

    __tablename__ = "part_uses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    device: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    part_number: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    from_stock: Mapped[bool]
    serial_out: Mapped[str | None] = mapped_column(String(200))
    serial_in: Mapped[str | None] = mapped_column(String(200))
    rma_number: Mapped[str | None] = mapped_column(String(100))
    rma_status: Mapped[str | None] = mapped_column(String(20))
    rma_updated_at: Mapped[datetime | None]


class DeviceComponentRow(Base):
    """A device's recorded serials (the chassis, or a component), updated by part replacements."""

    __tablename__ = "device_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device: Mapped[str] = mapped_column(String(200), index=True)
    part_number: Mapped[str] = mapped_column(String(100))
    serial: Mapped[str] = mapped_column(String(200))
    installed_at: Mapped[datetime]
    ticket: Mapped[str | None] = mapped_column(String(20))
    removed_at: Mapped[datetime | None]


class TicketEventRow(Base):
    """The ticket's timeline; clock state is replayed from it (desk.clocks)."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        # The queue replays only tickets with clock-moving events of some kinds.
        Index("ix_ticket_events_ticket_id_kind", "ticket_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]]


class TicketCounterRow(Base):
    """The last ticket number handed out per year (``WB-2026-000123``)."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int]


class ApiTokenRow(Base):
    """A bearer token; only its SHA-256 is kept, so a database leak reveals no token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    customer: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    name: Mapped[str | None] = mapped_column(
        String(200), doc="the person who holds it: recorded as who did each ticket step"
    )
    site: Mapped[str | None] = mapped_column(
        String(200), doc="an agent token's scope: it may push for this site's devices only"
    )
    device: Mapped[str | None] = mapped_column(
        String(200), doc="an agent token's scope: it may push for this one device only"
    )


class EngineDeviceRow(Base):
    """The rule engine's memory of one device (pending ``for:`` timers, last values...),
    so a restart forgets nothing. One row per device: a batch reads and locks only its
    devices' rows (and reads its upstreams'), so its cost does not grow with the fleet,
    and desks working on different devices do not wait for each other."""

    __tablename__ = "engine_devices"
    __table_args__ = (
        # What topology reads every batch: the few devices with a series not idle.
        Index(
            "ix_engine_devices_topology",
            "device",
            sqlite_where=text("topology IS NOT NULL"),
            postgresql_where=text("topology IS NOT NULL"),
        ),
    )

    device: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[str] = mapped_column(Text, doc="JSON: rules.api.EngineState.device")
    topology: Mapped[str | None] = mapped_column(
        Text, doc="JSON: its entries of the topology index; NULL when it has none"
    )
    sweep_after: Mapped[float | None] = mapped_column(
        Float, doc="Unix time from which the sweep must look at it (rules.api.DeviceSummary)"
    )
    updated_at: Mapped[datetime]


class _RollupColumns:
    """One series of one device over one bucket (an hour or a day), kept so reports read a
    few thousand rows instead of a month of raw observations (see desk.rollups)."""

    device: Mapped[str] = mapped_column(String(200), primary_key=True)
    series: Mapped[str] = mapped_column(String(100), primary_key=True)
    labels: Mapped[str] = mapped_column(
        String(300), primary_key=True, doc="canonical 'k=v,k2=v2' ('' for none)"
    )
    start: Mapped[datetime] = mapped_column(primary_key=True, doc="bucket start, UTC")
    count: Mapped[int]
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)
    last_at: Mapped[datetime]
    service_count: Mapped[int] = mapped_column(doc="samples inside the contract's service hours")
    service_sum: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text, doc="e.g. the last inspection error")


class HourlyRollupRow(_RollupColumns, Base):
    __tablename__ = "rollups_hourly"


class DailyRollupRow(_RollupColumns, Base):
    __tablename__ = "rollups_daily"


class RollupMarkRow(Base):
    """How far rollups have read the observations (by received time), per job."""

    __tablename__ = "rollup_marks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    upto: Mapped[datetime]
    updated_at: Mapped[datetime]


class UserRow(Base):
    """A person who logs in to the web console; only an argon2 hash of the password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    customer: Mapped[str | None] = mapped_column(String(200), doc="for customer accounts")
    engineer: Mapped[str | None] = mapped_column(
        String(200), doc="the engineer's name on the inventory's sites (定人服务)"
    )
    password_hash: Mapped[str] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(10))
    failed_logins: Mapped[int] = mapped_column(server_default=text("0"))
    locked_until: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class WebSessionRow(Base):
    """A logged-in browser; only the SHA-256 of the cookie's value is kept."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ReportDeliveryRow(Base):
    """A scheduled report queued for e-mail, claimed once per (kind, scope, period): the
    unique key is what keeps a second desk process, or a restart, from sending it again.
    The notice itself waits in the outbox (``outbox_id``)."""

    __tablename__ = "report_deliveries"
    __table_args__ = (Index("uq_report_deliveries_claim", "kind", "scope", "period", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), doc="inspection or quarterly")
    scope: Mapped[str] = mapped_column(String(200), doc="the contract's id, or 'company'")
    period: Mapped[str] = mapped_column(String(40), doc="the period's label, e.g. 2026-11")
    channel: Mapped[str] = mapped_column(String(100))
    outbox_id: Mapped[int | None]
    queued_at: Mapped[datetime]
