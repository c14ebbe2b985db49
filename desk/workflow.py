"""The engineer's and manager's steps on a ticket, each recorded with who and when.

Every step runs in one transaction: the ticket row is locked, the step is checked
against the ticket's status and the caller's role, its event is appended, the clocks
are replayed from the event log (:func:`desk.tickets.refresh_clocks`) and the notices
it causes are queued. A step that does not fit the ticket's state is refused with a
:class:`StepRefused` that says what is allowed instead; nothing is written then.

Status flow::

    open ─ack─► acknowledged ─arrive─► on_site ─resolve─► resolved ─close─► closed
      │              │  └─plan (remote fix, level IV)─┘        │  ▲             │
      └──arrive/plan─┘                                    reopen └─────────────┘
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from desk import steps
from desk.clocks import ClockName, ClockPolicy, ClockViews, clock_views, public_name
from desk.model import SYSTEM_ACTOR, EventKind, Role, TicketStatus
from desk.storage import Store, StoreTx, TicketFields, TicketRecord
from desk.storage.tables import PartUseRow
from desk.tickets import Notifier, Silent, refresh_clocks
from weibao.clock import Clock
from weibao.inventory.model import DeviceContext, Inventory
from weibao.logs import log_event

S = TicketStatus
_log = logging.getLogger("weibao.desk.workflow")
ACTIVE = frozenset({S.open, S.acknowledged, S.on_site})
ANY = frozenset(S)

ALLOWED: dict[str, frozenset[TicketStatus]] = {
    "ack": frozenset({S.open}),
    "arrive": frozenset({S.open, S.acknowledged}),
    "plan": frozenset({S.open, S.acknowledged}),
    "note": ANY,
    "part": frozenset({S.acknowledged, S.on_site, S.resolved}),
    "resolve": frozenset({S.acknowledged, S.on_site}),
    "signoff": frozenset({S.resolved}),
    "close": frozenset({S.resolved}),
    "reopen": frozenset({S.resolved, S.closed}),
    "assign": ACTIVE | {S.resolved},
    "assist": ACTIVE,
    "refer": ACTIVE,
    "pause": ACTIVE,
    "resume": ACTIVE,
    "due": ACTIVE | {S.resolved},
    "followup": frozenset({S.closed}),
}

TAKEN_UP = frozenset(
    {EventKind.acknowledged, EventKind.arrived, EventKind.plan_submitted, EventKind.resolved}
)
"""Steps by which a person has taken a ticket up (the desk's auto-close resolves too)."""

MANAGER_ONLY = frozenset({"due"})
CUSTOMER_MAY = frozenset({"signoff", "note"})
STAFF = frozenset({Role.engineer, Role.manager})

# The order steps are offered in: the next move in the workflow first, bookkeeping after.
STEP_ORDER = (
    "ack",
    "arrive",
    "plan",
    "resolve",
    "signoff",
    "close",
    "reopen",
    "note",
    "part",
    "pause",
    "resume",
    "assign",
    "assist",
    "refer",
    "due",
    "followup",
)


class StepRefused(Exception):
    """The step does not fit the ticket now; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class TicketNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Actor:
    """Who takes a step: the name recorded on the ticket, their role and customer."""

    name: str
    role: Role
    customer: str | None = None


def allowed_steps(status: TicketStatus) -> list[str]:
    """The steps the ticket's status admits, whoever asks (see :func:`offered_steps`)."""
    return [name for name in STEP_ORDER if status in ALLOWED[name]]


def offered_steps(
    ticket: TicketRecord, role: Role, views: ClockViews, pause_reasons: Sequence[str]
) -> list[str]:
    """The steps this role may take on this ticket now, in the order people take them.

    The one place that decides what is offered: the API's ``allowed_steps``, the
    command line's "possible now" and the web page's forms all come from here, and a
    step offered is one :meth:`Workflow.step` accepts (checked per role, contract and
    state in tests/desk/test_offered_steps.py)."""
    if role not in STAFF and role is not Role.customer:
        return []
    allowed = set(allowed_steps(ticket.status))
    if role is Role.customer:
        allowed &= CUSTOMER_MAY
    elif role is not Role.manager:
        allowed -= MANAGER_ONLY
    paused = views[ClockName.resolve].paused
    if not pause_reasons or paused:
        allowed.discard("pause")
    if not paused:
        allowed.discard("resume")
    if ticket.signed_off_at is not None:
        allowed.discard("signoff")
    if ticket.followup_done_at is not None or ticket.followup_due_at is None:
        allowed.discard("followup")
    # Only a clock not yet met can be moved.
    if all(views[c].met_at is not None for c in ClockName):
        allowed.discard("due")
    return [name for name in STEP_ORDER if name in allowed]


class Workflow:
    """Takes the steps of one desk's tickets."""

    def __init__(
        self,
        store: Store,
        inventory: Inventory,
        clock: Clock,
        notify: Notifier | None = None,
    ) -> None:
        self._store = store
        self._contexts = inventory.device_index()
        self._people = inventory_people(inventory)
        self._clock = clock
        self._notify = notify or Silent()

    # --- the entry point ------------------------------------------------------------

    def step(self, key: int | str, name: str, body: BaseModel, actor: Actor) -> TicketRecord:
        """Apply step ``name`` with its ``body`` to ticket ``key`` (id or number)."""
        handler: Callable[[StoreTx, TicketRecord, Any, Actor, datetime], None] = getattr(
            self, f"_{name}"
        )
        found = self._store.get_ticket(key)
        if found is None or not _may_see(actor, found):
            raise TicketNotFound(
                f"no ticket {key!r}: give its id or its number, e.g. WB-2026-000123"
            )
        now = self._clock.now()
        with self._store.transaction() as tx:
            ticket = tx.ticket_for_update(found.id)
            assert ticket is not None
            self._check(tx, ticket, name, actor)
            handler(tx, ticket, body, actor, now)
            updated = refresh_clocks(tx, ticket.id, self.policy(ticket), now)
        log_event(  # after commit: the log never tells of a step that rolled back
            _log,
            f"ticket.{name}",
            logging.INFO,
            number=updated.number,
            status=updated.status.value,
            by=actor.name,
        )
        return updated

    def policy(self, ticket: TicketRecord) -> ClockPolicy:
        ctx = self._contexts.get(ticket.device)
        if ctx is None:
            return ClockPolicy.default(ticket.site_hq, ticket.timezone)
        return ClockPolicy.of(ctx)

    def pause_reasons(self, ticket: TicketRecord) -> list[str]:
        ctx = self._ctx(ticket)
        return list(ctx.contract.pause_reasons) if ctx else []

    def offered(
        self, ticket: TicketRecord, role: Role, views: ClockViews | None = None
    ) -> list[str]:
        """:func:`offered_steps` for this ticket under its contract (views: replayed now
        from the stored events unless given)."""
        if views is None:
            events = self._store.ticket_events(ticket.id)
            views = clock_views(
                self.policy(ticket), ticket.level, ticket.detected_at, events, self._clock.now()
            )
        return offered_steps(ticket, role, views, self.pause_reasons(ticket))

    def _check(self, tx: StoreTx, ticket: TicketRecord, name: str, actor: Actor) -> None:
        if actor.role is Role.agent:
            raise StepRefused("an agent token may not change tickets", 403)
        if actor.role is Role.customer and name not in CUSTOMER_MAY:
            raise StepRefused(f"a customer token may only sign off or add notes, not {name}", 403)
        if name in MANAGER_ONLY and actor.role is not Role.manager:
            raise StepRefused(
                f"only a manager may {name.replace('due', 'move a due time')}: use a manager token",
                403,
            )
        if ticket.status not in ALLOWED[name]:
            views = self._views(tx, ticket, self._clock.now())
            possible = offered_steps(ticket, actor.role, views, self.pause_reasons(ticket))
            raise StepRefused(
                f"ticket {ticket.number} is {ticket.status.value}: {name} is not possible now; "
                f"possible: {', '.join(possible) or 'nothing'}"
            )

    def _ctx(self, ticket: TicketRecord) -> DeviceContext | None:
        return self._contexts.get(ticket.device)

    def _event(
        self,
        tx: StoreTx,
        ticket: TicketRecord,
        kind: EventKind,
        actor: Actor,
        now: datetime,
        **data: Any,
    ) -> None:
        tx.add_event(
            ticket.id, now, kind, actor.name, {k: v for k, v in data.items() if v is not None}
        )

    # --- the steps --------------------------------------------------------------------

    def _ack(self, tx: StoreTx, t: TicketRecord, b: steps.Ack, a: Actor, now: datetime) -> None:
        self._event(tx, t, EventKind.acknowledged, a, now, note=b.note)
        fields: TicketFields = {"status": S.acknowledged}
        if t.assignee is None:
            fields["assignee"] = a.name
        tx.update_ticket(t.id, fields, now)

    def _arrive(
        self, tx: StoreTx, t: TicketRecord, b: steps.Arrive, a: Actor, now: datetime
    ) -> None:
        self._event(tx, t, EventKind.arrived, a, now, note=b.note)
        tx.update_ticket(t.id, {"status": S.on_site}, now)

    def _plan(self, tx: StoreTx, t: TicketRecord, b: steps.Plan, a: Actor, now: datetime) -> None:
        self._event(tx, t, EventKind.plan_submitted, a, now, plan=b.plan)
        tx.update_ticket(t.id, {"status": S.acknowledged}, now)

    def _note(self, tx: StoreTx, t: TicketRecord, b: steps.Note, a: Actor, now: datetime) -> None:
        self._event(tx, t, EventKind.note, a, now, text=b.text)

    def _part(self, tx: StoreTx, t: TicketRecord, b: steps.Part, a: Actor, now: datetime) -> None:
        name = b.name
        if b.from_stock:
            try:
                stocked = tx.take_part(b.part_number, b.quantity, now)
            except ValueError as exc:
                raise StepRefused(
                    f"{exc}: record it with from_stock false if the part came from elsewhere"
                ) from None
            if stocked is None:
                raise StepRefused(
                    f"part {b.part_number} is not in the spare-part stock: add it with "
                    "`weibao parts add`, or record it with from_stock false",
                    422,
                )
            name = name or stocked.name
        use = tx.add_part_use(
            PartUseRow(
                ticket_id=t.id,
                device=t.device,
                at=now,
                actor=a.name,
                part_number=b.part_number,
                name=name or b.part_number,
                quantity=b.quantity,
                from_stock=b.from_stock,
                serial_out=b.serial_out,
                serial_in=b.serial_in,
                rma_number=b.rma_number,
                rma_status=steps.RmaStatus.open.value if b.rma_number else None,
            )
        )
        tx.replace_component(t.device, b.part_number, b.serial_out, b.serial_in, t.number, now)
        self._event(
            tx,
            t,
            EventKind.part,
            a,
            now,
            part_use=use.id,
            part_number=b.part_number,
            name=use.name,
            quantity=b.quantity,
            from_stock=b.from_stock,
            serial_out=b.serial_out,
            serial_in=b.serial_in,
            rma_number=b.rma_number,
        )

    def _resolve(
        self, tx: StoreTx, t: TicketRecord, b: steps.Resolve, a: Actor, now: datetime
    ) -> None:
        self._event(
            tx,
            t,
            EventKind.resolved,
            a,
            now,
            diagnosis=b.diagnosis,
            cause=b.cause,
            actions=b.actions,
        )
        tx.update_ticket(t.id, {"status": S.resolved, "resolved_at": now}, now)

    def _signoff(
        self, tx: StoreTx, t: TicketRecord, b: steps.Signoff, a: Actor, now: datetime
    ) -> None:
        if t.signed_off_at is not None:
            # A second sign-off would overwrite the rating the satisfaction statistics
            # count; a customer who disagrees reopens the ticket (within the window).
            raise StepRefused(
                f"ticket {t.number} is already signed off: to disagree, reopen it (or add a note)"
            )
        self._event(
            tx,
            t,
            EventKind.signed_off,
            a,
            now,
            name=b.name,
            opinion=b.opinion,
            satisfaction=b.satisfaction,
        )
        tx.update_ticket(t.id, {"signed_off_at": now}, now)

    def _close(self, tx: StoreTx, t: TicketRecord, b: steps.Close, a: Actor, now: datetime) -> None:
        if t.signed_off_at is None and not b.reason:
            raise StepRefused(
                f"ticket {t.number} has no customer sign-off: sign it off first, or close it "
                "with a reason (e.g. the customer could not be reached)",
                422,
            )
        ctx = self._ctx(t)
        followup = ctx.contract.followup_after if ctx else timedelta(days=3)
        self._event(
            tx,
            t,
            EventKind.closed,
            a,
            now,
            reason=b.reason,
            followup_due=(now + followup).isoformat(),
        )
        fields: TicketFields = {
            "status": S.closed,
            "closed_at": now,
            "followup_due_at": None if t.internal else now + followup,
        }
        tx.update_ticket(t.id, fields, now)

    def _reopen(
        self, tx: StoreTx, t: TicketRecord, b: steps.Reopen, a: Actor, now: datetime
    ) -> None:
        if t.status is S.closed and tx.active_ticket(t.fingerprint) is not None:
            raise StepRefused(
                f"the fault of {t.number} already has an open ticket: work on that one instead"
            )
        # Back to work, not back to the queue: once someone has taken the ticket up,
        # acknowledging it again would mean nothing. Auto-closed unseen: back to open.
        taken_up = any(e.kind in TAKEN_UP and e.actor != SYSTEM_ACTOR for e in tx.events(t.id))
        status = S.acknowledged if taken_up else S.open
        self._event(tx, t, EventKind.reopened, a, now, reason=b.reason, status=status.value)
        fields: TicketFields = {
            "status": status,
            "resolved_at": None,
            "signed_off_at": None,
            "closed_at": None,
            "followup_due_at": None,
        }
        tx.update_ticket(t.id, fields, now)
        self._notify.queue(tx, "ticket.reopened", t, now, reason=b.reason)

    def _assign(
        self, tx: StoreTx, t: TicketRecord, b: steps.Assign, a: Actor, now: datetime
    ) -> None:
        if b.engineer == t.assignee:
            raise StepRefused(f"{t.number} is already assigned to {b.engineer}")
        self._check_engineer(t, b.engineer)
        self._event(
            tx, t, EventKind.assigned, a, now, to=b.engineer, previous=t.assignee, reason=b.reason
        )
        updated = tx.update_ticket(t.id, {"assignee": b.engineer}, now)
        self._notify.queue(tx, "ticket.assigned", updated, now, by=a.name)

    def _check_engineer(self, t: TicketRecord, name: str) -> None:
        """A ticket assigned to a name nobody answers to is a ticket nobody works: the
        engineer must be one of the inventory's people (sites' engineers, seniors,
        service managers)."""
        if name in self._people:
            return
        ctx = self._ctx(t)
        site = [p.name for p in ctx.site.engineers] if ctx else []
        close = difflib.get_close_matches(name, sorted(self._people), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        pool = f"the site's engineers: {', '.join(site)}" if site else "no site engineers listed"
        raise StepRefused(f"{name!r} is not an engineer in the inventory: {hint}({pool})", 422)

    def _assist(
        self, tx: StoreTx, t: TicketRecord, b: steps.Assist, a: Actor, now: datetime
    ) -> None:
        self._event(tx, t, EventKind.assist_requested, a, now, engineer=b.engineer, reason=b.reason)
        facts = {"asked by": a.name, "reason": b.reason}
        if b.engineer:
            facts["engineer asked for"] = b.engineer
        self._notify.queue(tx, "ticket.assist_requested", t, now, b.engineer, **facts)

    def _refer(self, tx: StoreTx, t: TicketRecord, b: steps.Refer, a: Actor, now: datetime) -> None:
        self._event(
            tx, t, EventKind.referred, a, now, referred_to=b.kind.value, to=b.to, reason=b.reason
        )
        facts = {"referred by": a.name, "to": f"{b.kind.value}: {b.to}", "reason": b.reason}
        named = b.to if b.kind is steps.ReferKind.senior else None
        self._notify.queue(tx, "ticket.referred", t, now, named, **facts)

    def _pause(self, tx: StoreTx, t: TicketRecord, b: steps.Pause, a: Actor, now: datetime) -> None:
        ctx = self._ctx(t)
        allowed = ctx.contract.pause_reasons if ctx else []
        if not allowed:
            raise StepRefused(
                f"the contract of {t.number} does not allow pausing the resolution clock", 422
            )
        if b.reason not in allowed:
            raise StepRefused(
                f"{b.reason!r} is not a pause reason of the contract; "
                f"allowed: {', '.join(allowed)}",
                422,
            )
        if self._views(tx, t, now)[ClockName.resolve].paused:
            raise StepRefused(f"the resolution clock of {t.number} is already paused")
        self._event(tx, t, EventKind.paused, a, now, reason=b.reason, note=b.note)

    def _resume(
        self, tx: StoreTx, t: TicketRecord, b: steps.Resume, a: Actor, now: datetime
    ) -> None:
        if not self._views(tx, t, now)[ClockName.resolve].paused:
            raise StepRefused(f"the resolution clock of {t.number} is not paused")
        self._event(tx, t, EventKind.resumed, a, now, note=b.note)

    def _due(self, tx: StoreTx, t: TicketRecord, b: steps.MoveDue, a: Actor, now: datetime) -> None:
        views = self._views(tx, t, now)
        view = views[b.clock.clock]
        name = public_name(b.clock.clock, views.level)
        if view.met_at is not None:
            raise StepRefused(f"the {name} clock of {t.number} is already met")
        self._event(
            tx,
            t,
            EventKind.due_moved,
            a,
            now,
            clock=name,
            due=b.due.astimezone(UTC).isoformat(),
            previous=view.due.astimezone(UTC).isoformat(),
            reason=b.reason,
            agreed_by=b.agreed_by,
        )

    def _followup(
        self, tx: StoreTx, t: TicketRecord, b: steps.Followup, a: Actor, now: datetime
    ) -> None:
        if t.followup_done_at is not None:
            raise StepRefused(f"the follow-up call of {t.number} is already recorded")
        if t.followup_due_at is None:
            raise StepRefused(f"{t.number} has no follow-up call (回访) due: none is made for it")
        self._event(
            tx, t, EventKind.followup_done, a, now, outcome=b.outcome, satisfaction=b.satisfaction
        )
        tx.update_ticket(t.id, {"followup_done_at": now}, now)

    def _views(self, tx: StoreTx, t: TicketRecord, now: datetime) -> ClockViews:
        return clock_views(self.policy(t), t.level, t.detected_at, tx.events(t.id), now)


def _may_see(actor: Actor, ticket: TicketRecord) -> bool:
    if actor.customer is None:
        return True
    return actor.customer == ticket.customer and not ticket.internal


def inventory_people(inventory: Inventory) -> frozenset[str]:
    """Everyone a ticket may be assigned to: the sites' engineers, the contracts' senior
    engineers and service managers."""
    names: set[str] = set()
    for customer in inventory.customers:
        for contract in customer.contracts:
            names.add(contract.service_manager.name)
            names.update(p.name for p in contract.senior_engineers)
            for site in contract.sites:
                names.update(p.name for p in site.engineers)
    return frozenset(names)
