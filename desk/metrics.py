"""``/metrics`` of the desk, in Prometheus format, so the desk is monitored like anything
else (and a service manager's dashboard can show clocks at risk).

Ticket figures are read from the database at scrape time, so every desk process of a
scaled-out deployment reports the same totals; the ingest counters are this process's
own. Clocks "at risk" use the stored due times (24x7 arithmetic); escalation itself
replays the event log with the contract's calendar (:mod:`desk.escalation`).

What the devices themselves reported is not here but at ``/api/v1/metrics/devices``
(:mod:`desk.device_metrics`), behind a token, because it is customer data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from desk.clocks import ClockName, public_name
from desk.ingest import Ingestor
from desk.storage import Store, TicketQuery, TicketRecord
from weibao.clock import Clock
from weibao.levels import Level

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
AT_RISK = 0.8


class DeskCollector(Collector):
    def __init__(self, store: Store, ingestor: Ingestor, clock: Clock) -> None:
        self._store = store
        self._ingestor = ingestor
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        now = self._clock.now()
        open_tickets = GaugeMetricFamily(
            "weibao_tickets_open",
            "Tickets not closed, by fault level and audience.",
            labels=["level", "audience"],
        )
        counts = self._store.open_counts()
        for level in Level:
            for internal, audience in ((False, "customer"), (True, "operations")):
                open_tickets.add_metric(
                    [level.value, audience], counts.get((level.value, internal), 0)
                )
        yield open_tickets

        at_risk = GaugeMetricFamily(
            "weibao_clocks_at_risk",
            f"Running SLA clocks past {AT_RISK:.0%} of their time, not yet breached.",
            labels=["clock"],
        )
        breached = GaugeMetricFamily(
            "weibao_clocks_breached", "Running SLA clocks past their due time.", labels=["clock"]
        )
        risk, broken = self._clock_counts(now)
        for name in CLOCK_LABELS:
            at_risk.add_metric([name], risk[name])
            breached.add_metric([name], broken[name])
        yield at_risk
        yield breached

        stats = self._ingestor.stats()
        observations = CounterMetricFamily(
            "weibao_observations", "Observations received by this desk process.", labels=["result"]
        )
        observations.add_metric(["accepted"], stats["accepted"])
        observations.add_metric(["duplicate"], stats["duplicates"])
        yield observations

        outbox = GaugeMetricFamily(
            "weibao_notifications",
            "Notifications in the outbox by state (failed: given up after retries).",
            labels=["state"],
        )
        states = self._store.outbox_counts()
        for state in ("pending", "sent", "failed"):
            outbox.add_metric([state], states.get(state, 0))
        yield outbox

    def _clock_counts(self, now: datetime) -> tuple[dict[str, int], dict[str, int]]:
        risk = dict.fromkeys(CLOCK_LABELS, 0)
        broken = dict(risk)
        offset = 0
        while True:
            page = self._store.list_tickets(TicketQuery(active=True, limit=1000, offset=offset))
            for ticket in page:
                for name, due, met in _clocks(ticket):
                    if met is not None:
                        continue
                    if now > due:
                        broken[name] += 1
                    elif _share(ticket.detected_at, due, now) >= AT_RISK:
                        risk[name] += 1
            if len(page) < 1000:
                return risk, broken
            offset += 1000


CLOCK_LABELS = ("response", "onsite", "plan", "resolve")
"""The ``clock`` label: level IV's second clock is ``plan``, as everywhere else."""


def _clocks(t: TicketRecord) -> list[tuple[str, datetime, datetime | None]]:
    return [
        ("response", t.due.response, t.met_response),
        (public_name(ClockName.onsite, t.level), t.due.onsite, t.met_onsite),
        ("resolve", t.due.resolve, t.met_resolve),
    ]


def _share(start: datetime, due: datetime, now: datetime) -> float:
    span = (due - start).total_seconds()
    return 1.0 if span <= 0 else (now - start).total_seconds() / span


def metrics_router(
    store: Store, ingestor: Ingestor, clock: Clock, extra: Sequence[Collector] = ()
) -> APIRouter:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeskCollector(store, ingestor, clock))
    for collector in extra:
        registry.register(collector)
    router = APIRouter()

    @router.get("/metrics", tags=["health"], response_class=Response)
    def metrics() -> Response:
        """Prometheus metrics: open tickets by level, clocks at risk and breached, ingest
        and notification counts. Needs no token (no customer data in it)."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)

    return router
