"""The dispatcher's counters as Prometheus metrics, for the desk's ``/metrics``.

A collector reading :meth:`Dispatcher.stats` at scrape time, registered into the
registry the desk passes in (never the global one)::

    registry.register(NotificationCollector(dispatcher))

The counters count since the desk started; items given up on stay in the outbox, which
is where a count that survives restarts comes from.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from desk.notify.dispatcher import Dispatcher


class NotificationCollector(Collector):
    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    def collect(self) -> Iterator[Metric]:
        stats = self._dispatcher.stats()
        families = {
            "sent": CounterMetricFamily(
                "weibao_notifications_sent", "Notices delivered, by channel", labels=["channel"]
            ),
            "failed": CounterMetricFamily(
                "weibao_notifications_failed",
                "Failed delivery attempts (retried or not), by channel",
                labels=["channel"],
            ),
            "gave_up": CounterMetricFamily(
                "weibao_notifications_gave_up",
                "Notices given up on after the last attempt, by channel",
                labels=["channel"],
            ),
        }
        for channel, counts in sorted(stats.items()):
            for what, family in families.items():
                family.add_metric([channel], getattr(counts, what))
        yield from families.values()
        yield CounterMetricFamily(
            "weibao_notifications_outbox_errors",
            "Dispatcher rounds that failed because the outbox could not be read or written",
            value=self._dispatcher.outbox_errors,
        )
