"""Running the desk: open and migrate the store, build the app, serve it with uvicorn.

:class:`DeskServer` binds its socket itself, so a busy port is a clear error before
anything starts, and ``port 0`` works (tests read the real port from ``url``). It
runs in the foreground (``run``, for ``weibao serve``) or in a thread (``start`` and
``stop``, or as a context manager, for tests and embedding).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from desk.api import create_app
from desk.housekeeping import Housekeeper
from desk.ingest import Ingestor
from desk.notices import TicketNotifier
from desk.notify.dispatcher import Backoff, Dispatcher, Sender
from desk.notify.metrics import NotificationCollector
from desk.notify.senders import build_senders
from desk.outbox import DbOutbox
from desk.reports.delivery import ReportDelivery
from desk.reports.maker import ReportMaker
from desk.rollups import Rollups
from desk.storage import Store
from rules.api import Engine
from weibao.clock import Clock
from weibao.errors import WeibaoError
from weibao.inventory.model import Inventory
from weibao.logs import log_event


class ListenError(WeibaoError):
    """The address to listen on is malformed or cannot be bound."""


# Slow clients: uvicorn closes an idle keep-alive connection, but waits forever for a
# request whose head never completes; 5,000 such connections would stay open.
HEAD_TIMEOUT = 10.0
"""Seconds a client has to send a request's line and headers, from connecting or from
the previous response; then the connection is closed."""
KEEP_ALIVE_TIMEOUT = 5.0
"""Seconds an idle keep-alive connection stays open."""
MAX_HEAD_BYTES = 64 * 1024
"""The largest request line and headers h11 buffers (uvicorn answers 400 beyond)."""
GRACEFUL_SHUTDOWN = 5.0
"""Seconds a stopping desk waits for requests in flight."""


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head."""

    head_timeout = HEAD_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Bytes arriving do not restart the deadline (a client sending one byte a
        # second must not hold the connection): only a complete head stops it.
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


@dataclass
class Desk:
    """Everything a running desk is made of, wired together."""

    store: Store
    inventory: Inventory
    engine: Engine
    clock: Clock
    app: FastAPI
    ingestor: Ingestor
    housekeeper: Housekeeper
    dispatcher: Dispatcher

    def start_background(
        self, housekeeping_every: float = 15.0, dispatch_every: float = 1.0
    ) -> None:
        """Start escalation, auto-close, follow-ups and notification delivery threads."""
        self.dispatcher.start(dispatch_every)
        self.housekeeper.start(housekeeping_every)

    def stop_background(self) -> None:
        self.housekeeper.stop()
        self.dispatcher.stop()


def build_desk(
    db_url: str,
    inventory: Inventory,
    engine: Engine,
    clock: Clock,
    senders: Mapping[str, Sender] | None = None,
) -> Desk:
    """Open the database, migrate it to the newest schema, and build the app.

    ``senders`` default to the inventory's notification channels, whose secrets are read
    now: a missing webhook key stops the desk before it starts, not at the first fault.
    """
    store = Store(db_url)
    try:
        # Secrets and the report delivery settings are checked before the database is
        # migrated; e-mail channels render the reports scheduled deliveries ask for.
        delivery = ReportDelivery(store, inventory, clock)
        reports = ReportMaker(store, inventory, clock)
        channels = (
            build_senders(inventory.notifications, render_report=reports.render)
            if senders is None
            else senders
        )
        store.migrate()
    except BaseException:
        store.close()
        raise
    notify = TicketNotifier(inventory)
    ingestor = Ingestor(store, engine, inventory, clock, notify=notify)
    retry = inventory.notifications.retry
    dispatcher = Dispatcher(
        DbOutbox(store),
        channels,
        clock,
        max_attempts=retry.max_attempts,
        backoff=Backoff(first=retry.first, cap=retry.max_delay),
    )
    app = create_app(
        store,
        inventory,
        engine,
        clock,
        ingestor=ingestor,
        collectors=[NotificationCollector(dispatcher)],
    )
    jobs = [
        Rollups(store, inventory, clock).run_once,
        delivery.run_once,
    ]
    housekeeper = Housekeeper(store, inventory, clock, ingestor, notify, jobs=jobs)
    return Desk(store, inventory, engine, clock, app, ingestor, housekeeper, dispatcher)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) into its parts."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ListenError(
            f"--listen {text!r} is not HOST:PORT: write e.g. 127.0.0.1:8080, or "
            "0.0.0.0:8080 to accept agents from other machines"
        )
    return host, int(port)


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket, or a ListenError that says what to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListenError(
            f"cannot listen on {host}:{port}: {exc.strerror}; is another desk running? "
            "choose another address with --listen HOST:PORT"
        ) from None
    return sock


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls back once its socket accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_ready()


class DeskServer:
    """Serves one app on one address."""

    def __init__(
        self,
        app: FastAPI,
        host: str = "127.0.0.1",
        port: int = 8080,
        on_ready: Callable[[str], None] | None = None,
        logger: logging.Logger | None = None,
        head_timeout: float = HEAD_TIMEOUT,
    ) -> None:
        self._log = logger or logging.getLogger("weibao.desk.server")
        self._sock = bind_socket(host, port)
        bound_port = self._sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{bound_port}"
        self._on_ready = on_ready
        self._ready = threading.Event()
        # proxy_headers off: uvicorn would otherwise trust X-Forwarded-Proto from 127.0.0.1
        # and mark cookies Secure on its own; WEIBAO_TRUST_PROXY is the one switch.
        protocol = type("DeskH11Protocol", (GuardedH11Protocol,), {"head_timeout": head_timeout})
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            http=protocol,
            timeout_keep_alive=int(KEEP_ALIVE_TIMEOUT),
            timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN),
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        )
        self._server = _AnnouncingServer(config, self._announce)
        self._thread: threading.Thread | None = None

    def _announce(self) -> None:
        log_event(self._log, "desk.listening", url=self.url)
        self._ready.set()
        if self._on_ready is not None:
            self._on_ready(self.url)

    def run(self) -> None:
        """Serve in this thread until SIGINT/SIGTERM (or ``stop`` from another thread)."""
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._sock.close()
            log_event(self._log, "desk.stopped", url=self.url)

    def start(self, timeout: float = 15.0) -> str:
        """Serve in a background thread; return the URL once it accepts connections."""
        self._thread = threading.Thread(target=self.run, name="weibao-desk", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if not self._thread.is_alive():
                raise ListenError(f"the desk on {self.url} stopped while starting; see the log")
            if time.monotonic() > deadline:
                self.stop()
                raise ListenError(f"the desk did not start listening on {self.url} in {timeout}s")
        return self.url

    def stop(self, timeout: float = 15.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise ListenError(f"the desk on {self.url} did not stop within {timeout}s")
            self._thread = None

    def __enter__(self) -> DeskServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
