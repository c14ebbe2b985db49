"""The console's pages: the engineer's queue, the ticket page and its step forms, the
manager's dashboard and inventory pages, and the customer portal.

Each route checks the session (:func:`desk.web.session.user_required`), builds its
page's data in :mod:`desk.web.views` and renders a template. Step forms POST to
``/tickets/{number}/steps/{name}`` with the CSRF token; the step goes through
:meth:`desk.workflow.Workflow.step` exactly as the API's does, and the browser is sent
back (303) to the ticket, where the outcome (or the workflow's refusal) is shown once,
carried by a short-lived cookie rather than the URL, so a link cannot put words on
the page.

A customer sees only their own tickets: another customer's ticket, on the staff URL or
the portal's, answers 404 like a missing one; staff pages answer 403.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from desk.api_tickets import STEPS
from desk.model import Role
from desk.storage import TicketRecord
from desk.web.context import WebContext, WebUser
from desk.web.session import csrf_required, user_required
from desk.web.templating import Pages
from desk.web.views import dashboard, inventory, portal, queue, ticket
from desk.web.views.common import Gettext, gettext_for
from desk.web.views.directory import Directory
from desk.web.views.queries import customer_people
from desk.workflow import StepRefused, TicketNotFound

STAFF = frozenset({Role.engineer, Role.manager})
MANAGERS = frozenset({Role.manager})
CUSTOMERS = frozenset({Role.customer})
FLASH_COOKIE = "weibao_flash"
FLASH_MAX = 600


def step_label(name: str, _: Gettext) -> str:
    """The button of each step form, and the word the outcome message uses."""
    labels = {
        "ack": _("Acknowledge"),
        "arrive": _("Arrived on site"),
        "plan": _("Submit a remediation plan"),
        "note": _("Add a note"),
        "part": _("Record a part"),
        "resolve": _("Resolve"),
        "signoff": _("Sign off"),
        "close": _("Close"),
        "reopen": _("Reopen"),
        "assign": _("Reassign"),
        "assist": _("Ask for assistance"),
        "refer": _("Refer to a senior or vendor engineer"),
        "pause": _("Pause the resolution clock"),
        "resume": _("Resume the resolution clock"),
        "due": _("Move a due time"),
        "followup": _("Record the follow-up call"),
    }
    return labels.get(name, name)


def form_body(
    name: str, model: type[BaseModel], form: Mapping[str, Any], timezone: str
) -> BaseModel:
    """A step's body from its HTML form: blanks are left out (the model's defaults
    apply), a checkbox is true when sent, and a due time typed in the site's time is
    made aware in that zone. Raises pydantic's ValidationError."""
    fields = model.model_fields
    data: dict[str, Any] = {}
    for key in fields:
        value = form.get(key)
        if isinstance(value, str) and value.strip():
            data[key] = value.strip()
    if name == "part":
        data["from_stock"] = form.get("from_stock") is not None
    if name == "due" and "due" in data:
        try:
            naive = datetime.fromisoformat(data["due"])
        except ValueError:
            pass  # the model says what is wrong with it
        else:
            if naive.tzinfo is None:
                data["due"] = naive.replace(tzinfo=ZoneInfo(timezone)).isoformat()
    return model.model_validate(data)


def pages_router(ctx: WebContext) -> APIRouter:
    """The queue, ticket, dashboard, inventory and portal pages."""
    router = APIRouter(include_in_schema=False)
    store, clock = ctx.store, ctx.clock
    pages = Pages(clock)
    directory = Directory(ctx.inventory)
    anyone = Depends(user_required(store, clock))
    staff = Depends(user_required(store, clock, STAFF))
    manager = Depends(user_required(store, clock, MANAGERS))
    customer = Depends(user_required(store, clock, CUSTOMERS))
    csrf = Depends(csrf_required(store, clock))

    def render(request: Request, user: WebUser, template: str, **values: Any) -> HTMLResponse:
        return pages.render(request, user, template, lang=user.language, **values)

    def not_found(request: Request, user: WebUser) -> HTMLResponse:
        return pages.render(request, user, "not_found.html", status_code=status.HTTP_404_NOT_FOUND)

    def visible(user: WebUser, number: str) -> TicketRecord | None:
        found = store.get_ticket(number)
        if found is None or not user.may_see(found.customer, found.internal):
            return None
        return found

    def ticket_url(user: WebUser, number: str) -> str:
        base = "/portal/tickets/" if user.role is Role.customer else "/tickets/"
        return base + quote(number, safe="")

    def flash_of(request: Request) -> dict[str, Any] | None:
        raw = request.cookies.get(FLASH_COOKIE)
        if not raw:
            return None
        try:
            value = json.loads(unquote(raw))
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def with_flash(response: Response, ok: bool, text: str) -> Response:
        payload = quote(json.dumps({"ok": ok, "text": text[:FLASH_MAX]}, ensure_ascii=False))
        response.set_cookie(
            FLASH_COOKIE, payload, max_age=120, path="/", httponly=True, samesite="lax"
        )
        return response

    def ticket_page(request: Request, user: WebUser, found: TicketRecord) -> HTMLResponse:
        _ = gettext_for(user.language)
        own = customer_people(store, found.customer) if user.role is Role.customer else None
        page = ticket.build_ticket_page(
            store, directory, found, user.role, clock.now(), user.language, _, own
        )
        template = "portal_ticket.html" if user.role is Role.customer else "ticket.html"
        flash = flash_of(request)
        response = render(
            request,
            user,
            template,
            page=page,
            t=page.ticket,
            flash=flash,
            step_label=lambda n: step_label(n, _),
            action=_step_action(page.ticket.number),
        )
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    # --- the engineer's queue -------------------------------------------------------------

    def queue_view(
        user: WebUser,
        scope: str | None,
        customer: str | None,
        site: str | None,
        level: str | None,
        assignee: str | None,
        limit: int | None,
    ) -> queue.QueueView:
        filters = queue.QueueFilters.parse(user, scope, customer, site, level, assignee, limit)
        _ = gettext_for(user.language)
        return queue.build_queue(store, directory, user, filters, clock.now(), user.language, _)

    @router.get("/queue", response_class=HTMLResponse)
    def queue_page(
        request: Request,
        user: WebUser = staff,
        scope: str | None = None,
        customer: str | None = None,
        site: str | None = None,
        level: str | None = None,
        assignee: str | None = None,
        limit: int | None = None,
    ) -> HTMLResponse:
        view = queue_view(user, scope, customer, site, level, assignee, limit)
        return render(request, user, "queue.html", view=view)

    @router.get("/queue/rows", response_class=HTMLResponse)
    def queue_rows(
        request: Request,
        user: WebUser = staff,
        scope: str | None = None,
        customer: str | None = None,
        site: str | None = None,
        level: str | None = None,
        assignee: str | None = None,
        limit: int | None = None,
    ) -> HTMLResponse:
        """The queue's list alone: what htmx swaps in every 30 seconds."""
        view = queue_view(user, scope, customer, site, level, assignee, limit)
        return render(request, user, "partials/queue_rows.html", view=view)

    # --- tickets ------------------------------------------------------------------------

    @router.get("/tickets/{number}", response_class=HTMLResponse)
    def staff_ticket(request: Request, number: str, user: WebUser = anyone) -> Response:
        found = visible(user, number)
        if found is None:
            return not_found(request, user)
        if user.role is Role.customer:
            return RedirectResponse(ticket_url(user, found.number), status.HTTP_303_SEE_OTHER)
        if user.role not in STAFF:
            return not_found(request, user)
        return ticket_page(request, user, found)

    @router.post("/tickets/{number}/steps/{name}")
    async def take_step(
        request: Request, number: str, name: str, user: WebUser = anyone, _c: None = csrf
    ) -> Response:
        found = await run_in_threadpool(visible, user, number)
        if found is None or name not in STEPS:
            return await run_in_threadpool(not_found, request, user)
        _ = gettext_for(user.language)
        back = RedirectResponse(ticket_url(user, found.number), status.HTTP_303_SEE_OTHER)
        form = await request.form()
        try:
            body = form_body(name, STEPS[name][0], form, found.timezone)
        except ValidationError as exc:
            where = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
            text = _("%(step)s: some fields are missing or not valid (%(fields)s).") % {
                "step": step_label(name, _),
                "fields": where or "-",
            }
            return with_flash(back, False, text)
        try:
            await run_in_threadpool(ctx.workflow.step, found.number, name, body, user.actor)
        except TicketNotFound:
            return await run_in_threadpool(not_found, request, user)
        except StepRefused as exc:
            text = _("%(step)s was refused: %(reason)s") % {
                "step": step_label(name, _),
                "reason": str(exc),
            }
            return with_flash(back, False, text)
        return with_flash(back, True, _("%(step)s: done.") % {"step": step_label(name, _)})

    # --- the manager's pages ----------------------------------------------------------

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard_page(request: Request, user: WebUser = manager) -> HTMLResponse:
        _ = gettext_for(user.language)
        view = dashboard.build_dashboard(store, directory, clock.now(), user.language, _)
        return render(request, user, "dashboard.html", view=view)

    @router.get("/customers/{name}", response_class=HTMLResponse)
    def customer_page(request: Request, name: str, user: WebUser = staff) -> HTMLResponse:
        _ = gettext_for(user.language)
        page = inventory.customer_page(store, directory, name, clock.now(), user.language, _)
        if page is None:
            return not_found(request, user)
        return render(request, user, "customer.html", page=page)

    @router.get("/contracts/{cid}", response_class=HTMLResponse)
    def contract_page(request: Request, cid: str, user: WebUser = staff) -> HTMLResponse:
        _ = gettext_for(user.language)
        page = inventory.contract_page(store, directory, cid, clock.now(), user.language, _)
        if page is None:
            return not_found(request, user)
        return render(request, user, "contract.html", page=page)

    @router.get("/contracts/{cid}/sites/{name}", response_class=HTMLResponse)
    def site_page(request: Request, cid: str, name: str, user: WebUser = staff) -> HTMLResponse:
        _ = gettext_for(user.language)
        page = inventory.site_page(store, directory, cid, name, clock.now(), user.language, _)
        if page is None:
            return not_found(request, user)
        return render(request, user, "site.html", page=page)

    @router.get("/devices/{name}", response_class=HTMLResponse)
    def device_page(request: Request, name: str, user: WebUser = staff) -> HTMLResponse:
        _ = gettext_for(user.language)
        page = inventory.device_page(store, directory, name, clock.now(), user.language, _)
        if page is None:
            return not_found(request, user)
        return render(request, user, "device.html", page=page)

    # --- the customer portal ---------------------------------------------------------

    @router.get("/portal", response_class=HTMLResponse)
    def portal_page(request: Request, user: WebUser = customer) -> HTMLResponse:
        _ = gettext_for(user.language)
        home = portal.portal_home(
            store, directory, user.customer or "", clock.now(), user.language, _
        )
        return render(request, user, "portal.html", home=home)

    @router.get("/portal/reports", response_class=HTMLResponse)
    def portal_reports(request: Request, user: WebUser = customer) -> HTMLResponse:
        _ = gettext_for(user.language)
        links = inventory.report_links(user.customer or "", clock.now().date(), _)
        return render(request, user, "portal_reports.html", reports=links)

    @router.get("/portal/tickets/{number}", response_class=HTMLResponse)
    def portal_ticket(request: Request, number: str, user: WebUser = customer) -> Response:
        found = visible(user, number)
        if found is None:
            return not_found(request, user)
        return ticket_page(request, user, found)

    return router


def _step_action(number: str) -> str:
    return f"/tickets/{quote(number, safe='')}/steps/"
