"""The desk's HTTP API (FastAPI, under ``/api/v1``), built by :func:`create_app` from
injected parts: no globals, so a test builds as many desks as it likes.

Errors are always JSON ``{"error": code, "message": sentence, "problems": [...]}``;
validation problems name where they are but never echo the rejected input, which may
hold customer data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client.registry import Collector
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.alertmanager import alertmanager_router
from desk.api_reports import report_router
from desk.api_tickets import ticket_router
from desk.auth import (
    MANAGER_ROLES,
    PUSH_ROLES,
    READ_ROLES,
    STAFF_ROLES,
    Authenticator,
    Principal,
)
from desk.device_metrics import device_metrics_router
from desk.ingest import ClockAhead, Ingestor
from desk.metrics import metrics_router
from desk.notices import TicketNotifier
from desk.schemas import (
    ErrorOut,
    HealthOut,
    IngestAnswer,
    UnknownDeviceList,
    UnknownDeviceOut,
)
from desk.storage import Store, StoreUnavailable
from desk.web import install_web
from desk.web.session import WebSessions
from desk.web.templating import DOCS_CONTENT_SECURITY_POLICY
from desk.workflow import Workflow
from rules.api import Engine
from weibao import __version__
from weibao.clock import Clock
from weibao.inventory.model import Inventory
from weibao.logs import log_event
from weibao.observation import Observation

MAX_BATCH = 1000
MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest request body the desk reads (413 beyond); see docs/desk.md "API limits"."""
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "not_possible_now",
    413: "too_large",
    422: "invalid_request",
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 413, 422, 503)
}


def create_app(
    store: Store,
    inventory: Inventory,
    engine: Engine,
    clock: Clock,
    *,
    max_batch: int = MAX_BATCH,
    max_body: int = MAX_BODY_BYTES,
    logger: logging.Logger | None = None,
    ingestor: Ingestor | None = None,
    collectors: Sequence[Collector] = (),
) -> FastAPI:
    """The desk's ASGI app over an already migrated store."""
    log = logger or logging.getLogger("weibao.desk.api")
    notify = TicketNotifier(inventory)
    ingestor = ingestor or Ingestor(store, engine, inventory, clock, notify=notify)
    workflow = Workflow(store, inventory, clock, notify)
    auth = Authenticator(store)
    pusher = Depends(auth.require(PUSH_ROLES, "push observations"))
    reader = Depends(auth.require(READ_ROLES, "read tickets"))
    staff = Depends(auth.require(STAFF_ROLES, "list devices not under contract"))
    manager = Depends(auth.require(MANAGER_ROLES, "read the notification outbox"))
    app = FastAPI(
        title="weibao desk",
        version=__version__,
        description="Observations in; tickets with their SLA clocks out.",
        responses=_ERRORS,
        # Served below from the desk's own files: FastAPI's pages load them from a CDN,
        # which a desk inside a customer network cannot reach.
        docs_url=None,
        redoc_url=None,
    )
    _install_error_handlers(app, log)
    app.add_middleware(RequestGuard, max_body=max_body)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="weibao desk API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            # The validator badge would send the API description to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return page

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url="/openapi.json",
            title="weibao desk API",
            redoc_js_url="/static/vendor/redoc/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.svg",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return page

    @app.get("/healthz", response_model=HealthOut, tags=["health"])
    def healthz() -> HealthOut:
        """Liveness and database reachability; needs no token."""
        store.ping()
        return HealthOut(status="ok", database="ok")

    sites = {ctx.device.name: ctx.site.name for ctx in inventory.contexts()}
    site_of = sites.get

    @app.post("/api/v1/observations", response_model=IngestAnswer, tags=["observations"])
    def post_observations(
        body: Annotated[Observation | list[Observation], Body()],
        principal: Principal = pusher,
    ) -> IngestAnswer:
        """One observation or a list; each is stored once by its id (replays count as
        duplicates), then the rules run and tickets open or gather evidence."""
        batch = body if isinstance(body, list) else [body]
        if len(batch) > max_batch:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"{len(batch)} observations in one request; send at most {max_batch} per request",
            )
        for observation in batch:
            refused = principal.push_refusal(observation.device, site_of)
            if refused:
                raise HTTPException(status.HTTP_403_FORBIDDEN, refused)
        result = ingestor.ingest(batch)
        return IngestAnswer(
            accepted=result.accepted,
            duplicates=result.duplicates,
            unknown_devices=result.unknown_devices,
            tickets_opened=result.opened,
        )

    @app.get("/api/v1/devices/unknown", response_model=UnknownDeviceList, tags=["devices"])
    def unknown_devices(principal: Principal = staff) -> UnknownDeviceList:
        """Servers and devices that report but match nothing in the inventory: either an
        agent installed with the wrong --device name, or equipment not under contract."""
        return UnknownDeviceList(
            items=[UnknownDeviceOut(**vars(r)) for r in store.unknown_devices()]
        )

    customers = [c.name for c in inventory.customers]
    app.include_router(ticket_router(store, workflow, clock, reader, auth, manager, customers))
    app.include_router(alertmanager_router(ingestor, inventory, clock, pusher))
    app.include_router(metrics_router(store, ingestor, clock, collectors))
    app.include_router(device_metrics_router(store, inventory, clock, auth))
    report_reader = Depends(_token_or_session(auth, store, clock))
    app.include_router(report_router(store, inventory, clock, report_reader))
    install_web(app, store, inventory, workflow, clock)

    @app.middleware("http")
    async def log_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        principal = getattr(request.state, "principal", None)
        log_event(  # routine: counted into the desk.activity summary (weibao.logs)
            log,
            "http.request",
            logging.DEBUG,
            method=request.method,
            path=request.url.path,  # never the query string: it may name a customer
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
            caller=principal.token_id if principal else None,
        )
        return response

    return app


def _token_or_session(auth: Authenticator, store: Store, clock: Clock) -> Callable[..., Principal]:
    """Reports are fetched with a token (API, ``weibao report``) or from the console,
    where a logged-in person follows a download link with their session cookie. A GET
    changes nothing, so it needs no CSRF token; the customer check is the same."""
    by_token = auth.require(READ_ROLES, "read reports")
    sessions = WebSessions(store, clock)
    bearer = Depends(HTTPBearer(auto_error=False))

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = bearer
    ) -> Principal:
        if credentials is None:
            user = sessions.current(request)
            if user is not None and user.role in READ_ROLES:
                return Principal(
                    token_id=0, role=user.role, customer=user.customer, name=user.display_name
                )
        return by_token(request, credentials)

    return dependency


def _error(status_code: int, message: str, **extra: Any) -> JSONResponse:
    code = _CODES.get(status_code, "error" if status_code < 500 else "unavailable")
    body = ErrorOut(error=extra.pop("code", code), message=message, **extra)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status_code)


def _install_error_handlers(app: FastAPI, log: logging.Logger) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        return _error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"the request is not valid ({len(problems)} problem(s)); see problems, and "
            f"{_guide_for(request.url.path)}",
            code="invalid_request",
            problems=problems,
        )

    @app.exception_handler(ClockAhead)
    async def clock_ahead(request: Request, exc: ClockAhead) -> JSONResponse:
        return _error(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc), code="clock_ahead")

    # The last line of defence for input the models let through and the database cannot
    # take (PostgreSQL: NUL in text, a number beyond its column; any: a lone surrogate).
    # The database's message quotes the input, so it is logged without it, never answered.
    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        log_event(log, "request.unstorable", logging.WARNING, path=request.url.path)
        return _error(status.HTTP_422_UNPROCESSABLE_CONTENT, _UNSTORABLE, code="invalid_request")

    @app.exception_handler(UnicodeEncodeError)
    async def not_unicode(request: Request, exc: UnicodeEncodeError) -> JSONResponse:
        log_event(log, "request.unstorable", logging.WARNING, path=request.url.path)
        return _error(status.HTTP_422_UNPROCESSABLE_CONTENT, _UNSTORABLE, code="invalid_request")

    @app.exception_handler(StoreUnavailable)
    async def unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log_event(log, "database.unavailable", logging.ERROR, error=str(exc))
        return _error(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the desk's database is unavailable; retry later (agents spool and retry)",
        )


def _guide_for(path: str) -> str:
    """Where the shape of what this path takes is described."""
    if path.startswith("/api/v1/observations"):
        return "docs/observations.md for the observation format"
    if path.startswith("/api/v1/alertmanager"):
        return "docs/alertmanager.md for the webhook"
    if path.startswith("/api/v1/tickets/"):
        return "the step's body in /docs (the API's OpenAPI page) or docs/desk.md"
    return "this call's parameters in /docs (the API's OpenAPI page)"


_UNSTORABLE = (
    "the request holds a value the database cannot store (a NUL character, text that is "
    "not valid Unicode, or a number out of range): remove it and send again"
)


class BodyTooLarge(StarletteHTTPException):
    """The request body grew past the limit while it was read (raised from ``receive``,
    so whoever reads the body, a route or a form, answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"the request body is larger than {limit} bytes, the most this desk reads: "
            "send fewer observations per request",
            headers={"Connection": "close"},
        )


class RequestGuard:
    """Refuses, before any route runs, what no route could use: a URL holding NUL
    (``%00``: no name in weibao has one, and PostgreSQL cannot even compare it), and a
    body larger than ``max_body`` bytes, by its Content-Length or, for a chunked or
    lying one, by counting the bytes as they arrive (413, naming the limit)."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if b"%00" in raw or b"\x00" in raw or b"%00" in scope.get("query_string", b""):
            await _error(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "the URL holds a NUL character (%00), which no ticket, device or filter "
                "contains: remove it",
                code="invalid_request",
            )(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._too_large()(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await self._too_large(exc)(scope, receive, send)

    def _too_large(self, exc: BodyTooLarge | None = None) -> JSONResponse:
        exc = exc or BodyTooLarge(self.max_body)
        response = _error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response
