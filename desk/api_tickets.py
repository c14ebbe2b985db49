"""Ticket routes: reading tickets and taking the workflow's steps, spare parts and RMAs,
follow-up calls, and the notification outbox.

One route per step, ``POST /api/v1/tickets/{key}/{step}``, each with its own body
model, so the OpenAPI document tells a client exactly what every step needs. A refused
step answers 409 (not possible in this state) or 422 (input the step cannot use) with
the reason and what is possible instead.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel

from desk import steps
from desk.auth import STAFF_ROLES, Authenticator, Principal
from desk.clocks import clock_views
from desk.disclosure import customer_events, customer_people
from desk.model import TicketStatus
from desk.schemas import (
    ComponentOut,
    EventOut,
    NotificationOut,
    PartIn,
    PartOut,
    PartUseOut,
    RmaIn,
    TicketList,
    TicketOut,
    TicketSummary,
    WhoAmI,
)
from desk.storage import Store, TicketQuery, TicketRecord
from desk.workflow import Actor, StepRefused, TicketNotFound, Workflow
from weibao.clock import Clock
from weibao.levels import Level

MAX_PAGE = 1000
"""The most tickets one ``GET /api/v1/tickets`` answers (``limit``)."""
MAX_OFFSET = 1_000_000
"""The furthest ``offset``; older tickets are reached with filters."""
MAX_ID = 2**63 - 1  # the database's integer ids
MAX_KEY = 64  # characters of a ticket key: an id or a number such as WB-2026-000123


def ticket_key(key: str) -> int | str | None:
    """A ticket id (ASCII digits within the database's range) or a number; None for a
    key that can name no ticket (a 400-digit id, a superscript digit, a megabyte)."""
    if key.isascii() and key.isdigit():
        return int(key) if len(key) <= 19 and int(key) <= MAX_ID else None
    # "¹".isdigit() is true too: the store would take such a key for an id, and fail.
    return None if len(key) > MAX_KEY or key.isdigit() else key


STEPS: dict[str, tuple[type[BaseModel], str]] = {
    "ack": (steps.Ack, "Acknowledge: stops the response clock."),
    "arrive": (steps.Arrive, "Arrived on site: stops the on-site clock."),
    "plan": (
        steps.Plan,
        "Remediation plan submitted: stops the plan clock (level IV) or the on-site one.",
    ),
    "note": (steps.Note, "A note on the timeline."),
    "part": (steps.Part, "A part used or replaced; from stock by default (decrements it)."),
    "resolve": (
        steps.Resolve,
        "Resolved, with diagnosis, cause and actions: stops the resolution clock.",
    ),
    "signoff": (steps.Signoff, "The customer's sign-off, opinion and satisfaction (1-5)."),
    "close": (steps.Close, "Close a resolved ticket; a follow-up call falls due later."),
    "reopen": (steps.Reopen, "Reopen a resolved or closed ticket."),
    "assign": (steps.Assign, "Reassign to another engineer."),
    "assist": (steps.Assist, "Ask for a second engineer."),
    "refer": (steps.Refer, "Escalate technically to a senior or vendor engineer."),
    "pause": (steps.Pause, "Pause the resolution clock for a reason the contract allows."),
    "resume": (steps.Resume, "Resume the resolution clock."),
    "due": (steps.MoveDue, "Move a due time by agreement with the customer (managers)."),
    "followup": (steps.Followup, "Record the follow-up call (回访) after closing."),
}


def ticket_router(
    store: Store,
    workflow: Workflow,
    clock: Clock,
    reader: Any,
    auth: Authenticator,
    manager: Any,
    customers: Sequence[str] = (),
) -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    # Each refusal names what was asked: a customer asking for follow-up calls is not
    # told about spare parts.
    stock = Depends(auth.require(STAFF_ROLES, "manage spare parts"))
    rmas = Depends(auth.require(STAFF_ROLES, "read or move vendor RMAs"))
    serials = Depends(auth.require(STAFF_ROLES, "read a device's recorded serials"))
    calls = Depends(auth.require(STAFF_ROLES, "list the follow-up calls (回访) due"))

    def full(ticket: TicketRecord, principal: Principal) -> TicketOut:
        events = store.ticket_events(ticket.id)
        now = clock.now()
        views = clock_views(workflow.policy(ticket), ticket.level, ticket.detected_at, events, now)
        answer = TicketOut.build_full(
            ticket,
            events,
            now,
            views=views,
            parts=store.part_uses(ticket.id),
            allowed=workflow.offered(ticket, principal.role, views),
        )
        if principal.customer is None:
            return answer
        # A customer reads what the portal shows: no escalations, referrals, RMA numbers,
        # staff notes or raw device output (desk.disclosure). Clocks replay all events.
        shown = customer_events(events, customer_people(store, principal.customer))
        return answer.model_copy(
            update={
                "events": [
                    EventOut(at=e.at, kind=e.kind, actor=e.actor, data=e.data) for e in shown
                ],
                "parts": [
                    p.model_copy(update={"rma_number": None, "rma_status": None})
                    for p in answer.parts
                ],
                "snapshot": {},
            }
        )

    def check_customer(name: str) -> None:
        """A customer filter that names no customer finds nothing, silently: say so,
        with the closest names (a customer gone from the inventory keeps its tickets)."""
        if store.count_tickets(TicketQuery(customer=name, limit=1)):
            return
        hint = did_you_mean(name, customers)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no customer {name!r} in the inventory or on any ticket: {hint}"
            f"the customers are {', '.join(customers) or 'none'}",
        )

    def visible(key: str, principal: Principal) -> TicketRecord:
        parsed = ticket_key(key)
        ticket = None if parsed is None else store.get_ticket(parsed)
        # Another customer's ticket answers exactly like a missing one: no existence leak.
        if ticket is None or not principal.may_see(ticket.customer, ticket.internal):
            named = f" {key!r}" if parsed is not None else ""
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"no ticket{named}: give its id or its number, e.g. WB-2026-000123",
            )
        return ticket

    @router.get("/whoami", response_model=WhoAmI, tags=["tokens"])
    def whoami(principal: Principal = reader) -> WhoAmI:
        """Who this token is: the name its steps are recorded under, its role and customer."""
        return WhoAmI(
            name=principal.name,
            actor=principal.actor,
            role=principal.role.value,
            customer=principal.customer,
        )

    @router.get("/tickets", response_model=TicketList, tags=["tickets"])
    def list_tickets(
        principal: Principal = reader,
        status_: Annotated[TicketStatus | None, Query(alias="status")] = None,
        level: Level | None = None,
        customer: str | None = None,
        device: str | None = None,
        assignee: str | None = None,
        active: Annotated[bool | None, Query(description="true: not closed")] = None,
        internal: Annotated[bool | None, Query(description="monitoring's own faults")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> TicketList:
        """Tickets, newest first; a customer token sees its own customer's only."""
        if principal.customer is not None:
            if customer is not None and customer != principal.customer:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    "this token may only read its own customer's tickets: drop the customer filter",
                )
            customer, internal = principal.customer, False
        elif customer is not None and customer not in customers:
            check_customer(customer)
        query = TicketQuery(
            status_, level, customer, device, limit, offset, active, internal, assignee
        )
        now = clock.now()
        return TicketList(
            items=[TicketSummary.build(t, now) for t in store.list_tickets(query)],
            total=store.count_tickets(query),
            limit=limit,
            offset=offset,
        )

    @router.get("/tickets/{key}", response_model=TicketOut, tags=["tickets"])
    def get_ticket(key: str, principal: Principal = reader) -> TicketOut:
        """One ticket with its timeline, by id or by number (``WB-2026-000123``)."""
        return full(visible(key, principal), principal)

    def add_step(name: str, model: type[BaseModel], doc: str) -> None:
        def take(key: str, body: Any, principal: Principal) -> TicketOut:
            seen = visible(key, principal)
            actor = Actor(principal.actor, principal.role, principal.customer)
            try:
                ticket = workflow.step(seen.id, name, body, actor)
            except TicketNotFound as exc:
                raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
            except StepRefused as exc:
                raise HTTPException(exc.status, str(exc)) from None
            return full(ticket, principal)

        endpoint = _typed(take, model, reader)
        endpoint.__doc__ = doc
        router.post(
            f"/tickets/{{key}}/{name}",
            response_model=TicketOut,
            tags=["workflow"],
            name=f"ticket_{name}",
        )(endpoint)

    for step_name, (model, doc) in STEPS.items():
        add_step(step_name, model, doc)

    @router.get("/parts", response_model=list[PartOut], tags=["parts"])
    def list_parts(principal: Principal = stock) -> list[PartOut]:
        """The spare-part stock (备件库)."""
        return [PartOut(**vars(p)) for p in store.parts()]

    @router.post("/parts", response_model=PartOut, tags=["parts"])
    def stock_part(body: PartIn, principal: Principal = stock) -> PartOut:
        """Add parts to the stock; a new part number is created."""
        record = store.stock_part(
            body.part_number, body.name, body.quantity, body.location, clock.now()
        )
        return PartOut(**vars(record))

    @router.get("/rmas", response_model=list[PartUseOut], tags=["parts"])
    def open_rmas(principal: Principal = rmas) -> list[PartUseOut]:
        """Parts sent back to the vendor whose RMA is not closed."""
        return [_part_use(u) for u in store.part_uses(open_rma=True)]

    @router.post("/rmas/{use_id}", response_model=PartUseOut, tags=["parts"])
    def update_rma(
        use_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: RmaIn, principal: Principal = rmas
    ) -> PartUseOut:
        """Move a vendor RMA on: open, shipped, received, closed."""
        record = store.update_rma(use_id, body.status, clock.now())
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no part use {use_id} with an RMA")
        return _part_use(record)

    @router.get("/devices/{device}/components", response_model=list[ComponentOut], tags=["devices"])
    def components(device: str, principal: Principal = serials) -> list[ComponentOut]:
        """The device's recorded serials, as part replacements changed them."""
        return [
            ComponentOut(**{k: getattr(c, k) for k in ComponentOut.model_fields})
            for c in store.components(device)
        ]

    @router.get("/followups", response_model=list[TicketSummary], tags=["tickets"])
    def followups(principal: Principal = calls) -> list[TicketSummary]:
        """Closed tickets whose follow-up call (回访) is due and not yet recorded."""
        now = clock.now()
        return [TicketSummary.build(t, now) for t in store.followups_due(now)]

    @router.get("/notifications", response_model=list[NotificationOut], tags=["notifications"])
    def notifications(
        principal: Principal = manager,
        status_: Annotated[
            str | None, Query(alias="status", pattern="^(pending|sent|failed)$")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[NotificationOut]:
        """Queued notifications, newest first; ``status=failed`` shows what never arrived."""
        return [
            NotificationOut(**{k: getattr(r, k) for k in NotificationOut.model_fields})
            for r in store.outbox(status_, limit)
        ]

    return router


def _part_use(record: Any) -> PartUseOut:
    return PartUseOut(**{k: getattr(record, k) for k in PartUseOut.model_fields})


def _typed(
    take: Callable[[str, Any, Principal], TicketOut], model: type[BaseModel], reader: Any
) -> Callable[..., TicketOut]:
    """An endpoint whose body parameter has the step's model as its type, so FastAPI
    validates it and documents it (a closure's annotation cannot vary per step)."""

    optional = not any(f.is_required() for f in model.model_fields.values())

    def endpoint(key: str, body: Any = None, principal: Principal = reader) -> TicketOut:
        return take(key, model() if body is None else body, principal)

    body_param = inspect.Parameter(
        "body",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=Body(default=None) if optional else Body(),
        annotation=model | None if optional else model,
    )
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("key", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str),
            body_param,
            inspect.Parameter(
                "principal",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=reader,
                annotation=Principal,
            ),
        ],
        return_annotation=TicketOut,
    )
    return endpoint


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """``did you mean '瑞达医院'? `` for a name that is part of, or close to, a choice."""
    found = [c for c in choices if name and name.casefold() in c.casefold()]
    found = found or difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f"did you mean {found[0]!r}? " if found else ""
