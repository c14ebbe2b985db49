"""The writes of one ingest, in one transaction: observations, engine state and
ticket changes commit or roll back as one."""

from __future__ import annotations

import json
from collections.abc import Collection, Container, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from desk.model import TicketStatus
from desk.storage.convert import event_record, part_record, part_use_record, ticket_record
from desk.storage.records import (
    DueTimes,
    EventRecord,
    NewTicket,
    PartRecord,
    PartUseRecord,
    TicketFields,
    TicketRecord,
)
from desk.storage.tables import (
    DeviceComponentRow,
    EngineDeviceRow,
    EscalationRow,
    ObservationRow,
    OutboxRow,
    PartRow,
    PartUseRow,
    RawOutputRow,
    TicketCounterRow,
    TicketEventRow,
    TicketRow,
)
from weibao.observation import Observation

SNAPSHOT_SAMPLES = 300
# Bound on the parameters of one IN (...) query (SQLite's limit is far above it).
FINGERPRINTS_PER_QUERY = 500


@dataclass(frozen=True)
class DeviceMemory:
    """One device's engine memory as stored (see :class:`~desk.storage.tables.EngineDeviceRow`)."""

    device: str
    data: str
    topology: str | None
    sweep_after: float | None


class StoreTx:
    """The writes of one transaction; obtained from :meth:`Store.transaction`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def insert_observations(
        self, observations: Sequence[Observation], known: Container[str], received_at: datetime
    ) -> list[Observation]:
        """Store each observation once by its id, in one statement; the ones stored now
        (not an id already stored, nor a repeat within the batch), in the batch's order."""
        if not observations:
            return []
        rows = [
            {
                "id": obs.id,
                "device": obs.device,
                "source": obs.source.value,
                "time": obs.time,
                "received_at": received_at,
                "ok": obs.ok,
                "error": obs.error,
                # What Sample.model_dump(mode="json") gives, without pydantic per sample.
                "samples": [
                    {"name": s.name, "labels": dict(s.labels), "value": s.value}
                    for s in obs.samples
                ],
                "meta": dict(obs.meta),
                "known_device": obs.device in known,
            }
            for obs in observations
        ]
        table = ObservationRow.__table__
        stmt = (
            self._insert()(table)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(table.c.id)
        )
        stored = set(self._session.execute(stmt, rows).scalars())
        fresh: list[Observation] = []
        for obs in observations:
            if obs.id in stored:
                stored.discard(obs.id)  # a repeat within the batch is a duplicate
                fresh.append(obs)
        return fresh

    def insert_observation(self, obs: Observation, known: bool, received_at: datetime) -> bool:
        """Store one observation once by its id; False when that id is already stored."""
        return bool(self.insert_observations([obs], {obs.device} if known else (), received_at))

    def keep_raw(self, obs: Observation) -> None:
        """Keep ``obs.raw`` as its device's latest for its source, unless a later one is kept
        (a spool replaying old observations must not replace what the device says now)."""
        if not obs.raw:
            return
        row = self._session.get(RawOutputRow, (obs.device, obs.source.value))
        if row is None:
            values = {
                "device": obs.device,
                "source": obs.source.value,
                "observation_id": obs.id,
                "time": obs.time,
                "outputs": dict(obs.raw),
            }
            if self._insert_ignore(RawOutputRow, values, "device", "source"):
                return
            row = self._session.get(RawOutputRow, (obs.device, obs.source.value))
            if row is None:  # pragma: no cover - inserted by another desk, then deleted
                return
        if obs.time >= row.time:
            row.observation_id, row.time, row.outputs = obs.id, obs.time, dict(obs.raw)

    def lock_devices(self, devices: Collection[str], now: datetime) -> dict[str, str]:
        """The engine's memory (JSON) of these devices, locked until commit; a device
        without a row gets an empty one, so that it too is locked.

        The rows are locked in name order, so two batches sharing devices wait for each
        other instead of deadlocking (PostgreSQL row locks; on SQLite the transaction
        already holds the write lock).
        """
        found = self._device_rows(devices, share=False)
        missing = sorted(set(devices) - set(found))
        if missing:
            rows = [
                {
                    "device": d,
                    "data": "{}",
                    "topology": None,
                    "sweep_after": None,
                    "updated_at": now,
                }
                for d in missing
            ]
            table = EngineDeviceRow.__table__
            stmt = self._insert()(table).on_conflict_do_nothing(index_elements=["device"])
            self._session.execute(stmt, rows)
            found.update(self._device_rows(missing, share=False))
        return found

    def read_devices(self, devices: Collection[str]) -> dict[str, str]:
        """The engine's memory of devices this transaction reads but does not change (a
        batch's upstreams), held with a share lock: a batch that changes one of them
        waits for this one, and the other way round, so a dependant and its upstream
        never judge each other from a state the other is about to replace."""
        return self._device_rows(devices, share=True)

    def topology_index(self) -> dict[str, list[Any]]:
        """Every device's entries of the topology index (the devices with a series of a
        topology rule that is not idle: a handful, but for an outage)."""
        stmt = select(EngineDeviceRow.topology).where(EngineDeviceRow.topology.is_not(None))
        index: dict[str, list[Any]] = {}
        for text in self._session.scalars(stmt):
            index.update(json.loads(text or "{}"))
        return index

    def save_devices(self, memory: Sequence[DeviceMemory], now: datetime) -> None:
        """Write back the memory of changed devices (locked by :meth:`lock_devices`);
        a device left with nothing to remember loses its row."""
        kept = [
            {
                "device": m.device,
                "data": m.data,
                "topology": m.topology,
                "sweep_after": m.sweep_after,
                "updated_at": now,
            }
            for m in memory
            if m.data != "{}"
        ]
        gone = [m.device for m in memory if m.data == "{}"]
        if kept:  # an ORM bulk UPDATE by primary key: one executemany
            self._session.execute(update(EngineDeviceRow), kept)
        for start in range(0, len(gone), FINGERPRINTS_PER_QUERY):
            chunk = gone[start : start + FINGERPRINTS_PER_QUERY]
            self._session.execute(delete(EngineDeviceRow).where(EngineDeviceRow.device.in_(chunk)))

    def _device_rows(self, devices: Collection[str], share: bool) -> dict[str, str]:
        wanted = sorted(set(devices))
        found: dict[str, str] = {}
        # An expanding parameter: the statement is built and compiled once, not per list.
        stmt = (
            select(EngineDeviceRow.device, EngineDeviceRow.data)
            .where(EngineDeviceRow.device.in_(bindparam("devices", expanding=True)))
            .order_by(EngineDeviceRow.device)
            .with_for_update(read=share)
        )
        for start in range(0, len(wanted), FINGERPRINTS_PER_QUERY):
            chunk = wanted[start : start + FINGERPRINTS_PER_QUERY]
            found.update((d, text) for d, text in self._session.execute(stmt, {"devices": chunk}))
        return found

    def active_ticket(self, fingerprint: str) -> TicketRecord | None:
        """The ticket that is not closed for this fault, if any (locked until commit)."""
        stmt = (
            select(TicketRow)
            .where(TicketRow.fingerprint == fingerprint)
            .where(TicketRow.status != TicketStatus.closed.value)
            .with_for_update()
        )
        row = self._session.scalars(stmt).first()
        return None if row is None else ticket_record(row)

    def active_tickets(self, fingerprints: Collection[str]) -> list[TicketRecord]:
        """The tickets not closed of these faults, in id order (locked until commit)."""
        wanted = sorted(set(fingerprints))
        found: list[TicketRecord] = []
        for start in range(0, len(wanted), FINGERPRINTS_PER_QUERY):
            stmt = (
                select(TicketRow)
                .where(TicketRow.fingerprint.in_(wanted[start : start + FINGERPRINTS_PER_QUERY]))
                .where(TicketRow.status != TicketStatus.closed.value)
                .order_by(TicketRow.id)
                .with_for_update()
            )
            found.extend(ticket_record(row) for row in self._session.scalars(stmt))
        return sorted(found, key=lambda t: t.id)

    def next_ticket_number(self, year: int) -> int:
        """The next serial number of the year, safe with several desk processes."""
        self._insert_ignore(TicketCounterRow, {"year": year, "last": 0}, "year")
        stmt = (
            update(TicketCounterRow)
            .where(TicketCounterRow.year == year)
            .values(last=TicketCounterRow.last + 1)
            .returning(TicketCounterRow.last)
        )
        return int(self._session.execute(stmt).scalar_one())

    def insert_ticket(self, ticket: NewTicket, now: datetime) -> TicketRecord:
        row = TicketRow(
            number=ticket.number,
            fingerprint=ticket.fingerprint,
            rule=ticket.rule,
            customer=ticket.customer,
            contract=ticket.contract,
            site=ticket.site,
            site_hq=ticket.site_hq,
            timezone=ticket.timezone,
            device=ticket.device,
            level=ticket.level.value,
            status=ticket.status.value,
            title=ticket.title,
            description=ticket.description,
            labels=dict(ticket.labels),
            detected_at=ticket.detected_at,
            due_response=ticket.due.response,
            due_onsite=ticket.due.onsite,
            due_resolve=ticket.due.resolve,
            last_seen_at=ticket.detected_at,
            evidence_count=1,  # the alarm that opened it
            created_at=now,
            updated_at=now,
            assignee=ticket.assignee,
            internal=ticket.internal,
            recurrences=ticket.recurrences,
            related=list(ticket.related),
            snapshot=dict(ticket.snapshot),
        )
        self._session.add(row)
        self._session.flush()
        return ticket_record(row)

    def update_ticket(self, ticket_id: int, fields: TicketFields, now: datetime) -> TicketRecord:
        row = self._session.get(TicketRow, ticket_id)
        if row is None:
            raise LookupError(f"ticket {ticket_id} does not exist")
        for key, value in fields.items():
            if key == "due":
                assert isinstance(value, DueTimes)
                row.due_response, row.due_onsite, row.due_resolve = (
                    value.response,
                    value.onsite,
                    value.resolve,
                )
            elif key in ("level", "status"):
                setattr(row, key, str(value))
            elif key == "related":
                row.related = list(value)  # type: ignore[call-overload]
            else:
                setattr(row, key, value)
        row.updated_at = now
        self._session.flush()
        return ticket_record(row)

    def add_event(
        self, ticket_id: int, at: datetime, kind: str, actor: str, data: dict[str, Any]
    ) -> EventRecord:
        row = TicketEventRow(ticket_id=ticket_id, at=at, kind=kind, actor=actor, data=data)
        self._session.add(row)
        self._session.flush()
        return event_record(row)

    def last_event(self, ticket_id: int) -> EventRecord | None:
        """The ticket's latest event (by time, then id)."""
        stmt = (
            select(TicketEventRow)
            .where(TicketEventRow.ticket_id == ticket_id)
            .order_by(TicketEventRow.at.desc(), TicketEventRow.id.desc())
            .limit(1)
        )
        row = self._session.scalars(stmt).first()
        return None if row is None else event_record(row)

    def replace_event(self, event_id: int, at: datetime, data: dict[str, Any]) -> None:
        """Rewrite an event's time and data (the latest evidence of a run of reports)."""
        self._session.execute(
            update(TicketEventRow).where(TicketEventRow.id == event_id).values(at=at, data=data)
        )

    def snapshot(
        self,
        device: str,
        observation_id: str | None,
        names: frozenset[str] = frozenset(),
        history: int = 5,
    ) -> dict[str, Any]:
        """What the engineer should know before arriving: the observation that fired the
        rule (samples, errors, what the collector noted) and the device's recent history
        of the samples the alarm is about (``names``), bounded so a ticket stays small."""
        out: dict[str, Any] = {}
        if observation_id is not None:
            row = self._session.get(ObservationRow, observation_id)
            if row is not None:
                out["observation"] = {
                    "id": row.id,
                    "time": row.time.isoformat(),
                    "source": row.source,
                    "ok": row.ok,
                    "error": row.error,
                    "meta": dict(row.meta),
                    "samples": row.samples[:SNAPSHOT_SAMPLES],
                    "samples_total": len(row.samples),
                }
                raw = self._session.get(RawOutputRow, (device, row.source))
                if raw is not None:
                    out["raw"] = {
                        "observation_id": raw.observation_id,
                        "time": raw.time.isoformat(),
                        "source": raw.source,
                        "outputs": dict(raw.outputs),
                    }
        stmt = (
            select(ObservationRow)
            .where(ObservationRow.device == device)
            .order_by(ObservationRow.time.desc())
            .limit(history)
        )
        out["history"] = [
            {
                "id": r.id,
                "time": r.time.isoformat(),
                "source": r.source,
                "ok": r.ok,
                "error": r.error,
                "samples": _bounded(r.samples, names),
                "samples_total": len(r.samples),
            }
            for r in self._session.scalars(stmt)
        ]
        return out

    # --- the workflow ------------------------------------------------------------------

    def ticket_for_update(self, ticket_id: int) -> TicketRecord | None:
        """The ticket, locked until commit so two steps on it cannot interleave."""
        stmt = select(TicketRow).where(TicketRow.id == ticket_id).with_for_update()
        row = self._session.scalars(stmt).first()
        return None if row is None else ticket_record(row)

    def events(self, ticket_id: int) -> list[EventRecord]:
        stmt = (
            select(TicketEventRow)
            .where(TicketEventRow.ticket_id == ticket_id)
            .order_by(TicketEventRow.at, TicketEventRow.id)
        )
        return [event_record(row) for row in self._session.scalars(stmt)]

    def last_closed_ticket(self, fingerprint: str) -> TicketRecord | None:
        """The most recently closed ticket of this fault (for recurrences)."""
        stmt = (
            select(TicketRow)
            .where(TicketRow.fingerprint == fingerprint)
            .where(TicketRow.status == TicketStatus.closed.value)
            .order_by(TicketRow.closed_at.desc(), TicketRow.id.desc())
            .with_for_update()
        )
        row = self._session.scalars(stmt).first()
        return None if row is None else ticket_record(row)

    def claim_escalation(
        self, ticket_id: int, clock: str, step: str, due: datetime, now: datetime
    ) -> bool:
        """True for the one caller (of any desk process, ever) that gets to send this step."""
        values = {"ticket_id": ticket_id, "clock": clock, "step": step, "due": due, "at": now}
        return self._insert_ignore(EscalationRow, values, "ticket_id", "clock", "step", "due")

    def enqueue(
        self, channel: str, kind: str, ticket: str | None, notice: dict[str, Any], now: datetime
    ) -> None:
        """Queue a notification; it is sent after commit by the dispatcher, never inline."""
        self._session.add(
            OutboxRow(
                channel=channel,
                kind=kind,
                ticket=ticket,
                notice=notice,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def take_part(self, part_number: str, quantity: int, now: datetime) -> PartRecord | None:
        """Take parts from stock; None when the part is not stocked at all.

        Raises ValueError when fewer are on the shelf than asked for: the caller says so.
        """
        stmt = select(PartRow).where(PartRow.part_number == part_number).with_for_update()
        row = self._session.scalars(stmt).first()
        if row is None:
            return None
        if row.quantity < quantity:
            raise ValueError(
                f"only {row.quantity} of part {part_number} in stock, {quantity} asked for"
            )
        row.quantity -= quantity
        row.updated_at = now
        return part_record(row)

    def add_part_use(self, use: PartUseRow) -> PartUseRecord:
        self._session.add(use)
        self._session.flush()
        return part_use_record(use)

    def replace_component(
        self,
        device: str,
        part_number: str,
        serial_out: str | None,
        serial_in: str | None,
        ticket: str,
        now: datetime,
    ) -> None:
        """Update the device's recorded serials: the old one removed, the new one installed."""
        if serial_out:
            stmt = (
                update(DeviceComponentRow)
                .where(DeviceComponentRow.device == device)
                .where(DeviceComponentRow.serial == serial_out)
                .where(DeviceComponentRow.removed_at.is_(None))
                .values(removed_at=now)
            )
            self._session.execute(stmt)
        if serial_in:
            self._session.add(
                DeviceComponentRow(
                    device=device,
                    part_number=part_number,
                    serial=serial_in,
                    installed_at=now,
                    ticket=ticket,
                )
            )

    def _insert(self) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT."""
        dialect = self._session.get_bind().dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert

    def _insert_ignore(self, table: type[Any], values: dict[str, Any], *keys: str) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING; True when a row was inserted."""
        columns = table.__table__.c
        stmt = (
            self._insert()(table.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(keys))
            .returning(columns[keys[0]])
        )
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        return self._session.execute(stmt).first() is not None


def _bounded(samples: list[dict[str, Any]], names: frozenset[str]) -> list[dict[str, Any]]:
    """A history entry's samples: those the alarm is about (``names``) first, at most
    SNAPSHOT_SAMPLES in all, like the firing observation's (a switch of 500 ports would
    otherwise copy 3,000 samples five times into every ticket it opens)."""
    about = [x for x in samples if x.get("name") in names]
    rest = [x for x in samples if x.get("name") not in names]
    return (about + rest)[:SNAPSHOT_SAMPLES]
