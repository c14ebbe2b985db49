"""The report endpoints: the monthly inspection report and the quarterly statistics, as
HTML, PDF, XLSX or JSON (``/api/v1/reports/...``).

Who gets what: engineers and managers every report; a customer token its own customer's
only. Another customer's report answers 404 exactly like a customer that does not exist,
and a customer's quarterly statistics are of its own customer, whatever it asks for.

The routes are plain ``def``: FastAPI runs them in its thread pool, so building a report
and rendering a PDF (seconds, CPU-bound) never blocks the event loop that answers agents.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse

from desk.auth import Principal
from desk.notify.message import ReportFormat, ReportLanguage, ReportRequest
from desk.reports.errors import ReportError, unknown_name
from desk.reports.maker import ReportMaker
from desk.reports.periods import FORMS
from desk.schemas import ErrorOut, Problem
from desk.storage import Store
from weibao.clock import Clock
from weibao.inventory.model import Customer, Inventory

FORMATS: tuple[ReportFormat, ...] = ("html", "pdf", "xlsx", "json")
LANGUAGES: tuple[ReportLanguage, ...] = ("zh", "en")
_MEDIA = {
    "html": "text/html",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
_FILE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as a file; Content-Disposition carries its name.",
        "content": {media: {} for media in _MEDIA.values()},
    },
    404: {"model": ErrorOut, "description": "No such customer or contract (for this token)."},
    422: {"model": ErrorOut, "description": "A period, format or language it cannot use."},
}
_SHOWN_INLINE = {"html", "json"}  # a browser shows these; PDF and XLSX are downloads


class _Refused(Exception):
    """Input the report cannot use: answered 422 with where and what is accepted."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def report_router(
    store: Store,
    inventory: Inventory,
    clock: Clock,
    reader: Any,
    maker: ReportMaker | None = None,
) -> APIRouter:
    """``reader`` is the dependency that admits engineers, managers and customers."""
    router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
    reports = maker or ReportMaker(store, inventory, clock)
    by_name = {c.name: c for c in inventory.customers}
    by_code = {c.code: c for c in inventory.customers if c.code}

    def serve(request: ReportRequest) -> Response:
        try:
            rendered = reports.render(request)
        except ReportError as exc:  # names were checked: what is left is the request itself
            raise _Refused("query", str(exc)) from None
        disposition = "inline" if request.format in _SHOWN_INLINE else "attachment"
        return Response(
            rendered.content,
            media_type=rendered.media_type,
            headers={
                "Content-Disposition": content_disposition(rendered.filename, disposition),
                "Cache-Control": "private, no-store",  # a customer's data: never cached
                "X-Content-Type-Options": "nosniff",
            },
        )

    def scope(principal: Principal, customer: str | None) -> Customer | None:
        """The customer the report is of (by name or code); 404 for one the token may not
        read, answered exactly like a customer that does not exist."""
        found = None if customer is None else by_name.get(customer) or by_code.get(customer)
        if principal.customer is not None:
            if customer is not None and (found is None or found.name != principal.customer):
                raise HTTPException(
                    status.HTTP_404_NOT_FOUND,
                    f"no report of customer {customer!r} for this token: a customer token "
                    "reads its own customer's reports only (leave customer out)",
                )
            found = by_name.get(principal.customer)
            if found is None:  # a token of a customer since removed from the inventory
                raise HTTPException(
                    status.HTTP_404_NOT_FOUND,
                    "this token's customer is no longer in the inventory: ask your service "
                    "provider",
                )
            return found
        if customer is not None and found is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, str(unknown_name("customer", customer, by_name))
            )
        return found

    def check_contract(customer: Customer | None, contract: str | None) -> None:
        if contract is None:
            return
        pool = [customer] if customer is not None else inventory.customers
        known = [c.id for cu in pool for c in cu.contracts]
        if contract not in known:
            kind = f"contract of {customer.name}" if customer is not None else "contract"
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(unknown_name(kind, contract, known)))

    def request_for(
        kind: str,
        principal: Principal,
        customer: str | None,
        contract: str | None,
        period: str | None,
        fmt: str,
        lang: str,
    ) -> ReportRequest:
        if fmt not in FORMATS:
            raise _Refused("query.format", f"format {fmt!r} is not one of {', '.join(FORMATS)}")
        if lang not in LANGUAGES:
            raise _Refused("query.lang", f"lang {lang!r} is not one of {', '.join(LANGUAGES)}")
        found = scope(principal, customer)
        if kind == "inspection" and found is None:
            names = ", ".join(sorted(by_name))
            raise _Refused(
                "query.customer",
                f"an inspection report is of one customer: add customer=NAME ({names})",
            )
        check_contract(found, contract)
        try:
            _, _, label = reports.period(kind, period)
        except ValueError as exc:
            raise _Refused("query.period", str(exc)) from None
        return ReportRequest(
            kind="inspection" if kind == "inspection" else "quarterly",
            period=label,
            customer=None if found is None else found.name,
            contract=contract,
            format=_format(fmt),
            language=_language(lang),
        )

    @router.get(
        "/inspection",
        response_class=Response,
        responses=_FILE_ANSWERS,
        summary="The monthly inspection report (巡检报告) of one customer",
    )
    def inspection(
        principal: Principal = reader,
        customer: Annotated[
            str | None,
            Query(
                description="The customer's name as in the inventory; a customer token "
                "may leave it out (its own)."
            ),
        ] = None,
        contract: Annotated[
            str | None, Query(description="Only this contract's devices (its id).")
        ] = None,
        period: Annotated[
            str | None,
            Query(description=f"{FORMS}; default: the last full month.", examples=["2026-11"]),
        ] = None,
        from_: Annotated[
            str | None,
            Query(
                alias="from", description="First day (YYYY-MM-DD), with `to`, instead of period."
            ),
        ] = None,
        to: Annotated[str | None, Query(description="Last day included (YYYY-MM-DD).")] = None,
        format: Annotated[str, Query(description="html, pdf, xlsx or json.")] = "html",
        lang: Annotated[str, Query(description="zh or en.")] = "zh",
    ) -> Response:
        """Every contracted device with its state (正常 / 异常 / 未知) and figures, the
        findings with their tickets, findings left open from before (遗留问题) and what
        became of them, devices that could not be inspected. Numbers include everything
        received up to the request."""
        try:
            if from_ is not None or to is not None:
                period = _range(period, from_, to)
            request = request_for("inspection", principal, customer, contract, period, format,
                                  lang)  # fmt: skip
            return serve(request)
        except _Refused as exc:
            return _unprocessable(exc)

    @router.get(
        "/quarterly",
        response_class=Response,
        responses=_FILE_ANSWERS,
        summary="The quarterly service statistics",
    )
    def quarterly(
        principal: Principal = reader,
        customer: Annotated[
            str | None,
            Query(description="Only this customer; a customer token always gets its own."),
        ] = None,
        contract: Annotated[str | None, Query(description="Only this contract (its id).")] = None,
        period: Annotated[
            str | None,
            Query(description=f"{FORMS}; default: the last full quarter.", examples=["2026-Q4"]),
        ] = None,
        format: Annotated[str, Query(description="html, pdf, xlsx or json.")] = "html",
        lang: Annotated[str, Query(description="zh or en.")] = "zh",
    ) -> Response:
        """Tickets per level, month and fault type; each SLA clock's compliance and every
        miss with its cause; times to acknowledge and resolve; repeat incidents, parts,
        satisfaction, availability; of the company, or of one customer or contract."""
        try:
            request = request_for("quarterly", principal, customer, contract, period, format,
                                  lang)  # fmt: skip
            return serve(request)
        except _Refused as exc:
            return _unprocessable(exc)

    return router


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''...``: every browser and curl gets
    a usable name, and the Chinese one where the client reads RFC 6266."""
    cleaned = re.sub(r'[\x00-\x1f\x7f"\\/]', "_", filename).strip() or "report"
    stem, dot, ext = cleaned.rpartition(".") if "." in cleaned else (cleaned, "", "")
    ascii_stem = stem.encode("ascii", "ignore").decode().strip(" .-_") or "report"
    ascii_ext = ext.encode("ascii", "ignore").decode()
    fallback = f"{ascii_stem}.{ascii_ext}" if dot and ascii_ext else ascii_stem
    header = f'{disposition}; filename="{fallback}"'
    if fallback != cleaned:
        header += f"; filename*=UTF-8''{quote(cleaned, safe='')}"
    return header


def _range(period: str | None, first: str | None, last: str | None) -> str:
    """``from`` and ``to`` as the period text ``YYYY-MM-DD..YYYY-MM-DD``."""
    if period is not None:
        raise _Refused("query.period", "give period or from and to, not both")
    if first is None or last is None:
        missing = "to" if last is None else "from"
        raise _Refused(f"query.{missing}", "from and to go together: give both (YYYY-MM-DD)")
    for where, text in (("from", first), ("to", last)):
        try:
            date.fromisoformat(text)
        except ValueError:
            raise _Refused(f"query.{where}", f"{where} is not a date: write YYYY-MM-DD") from None
    return f"{first}..{last}"


def _unprocessable(exc: _Refused) -> JSONResponse:
    body = ErrorOut(
        error="invalid_request",
        message=f"the report cannot be made as asked: {exc.message}",
        problems=[Problem(where=exc.where, message=exc.message)],
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def _format(text: str) -> ReportFormat:
    return next(f for f in FORMATS if f == text)


def _language(text: str) -> ReportLanguage:
    return next(lang for lang in LANGUAGES if lang == text)
