"""The agent's account of its own work, exported on ``/metrics``.

The runner counts; the collector reads. Plain integers written by one thread and read
by another need no lock under the GIL, and a scrape that sees a count one step old is
harmless.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from agent.spool import Spool


@dataclass
class AgentStats:
    spool: Spool | None = None
    inspections: int = 0
    pushed_observations: int = 0
    push_failures: int = 0
    last_push_success: float | None = None  # Unix time

    def families(self) -> Iterator[Metric]:
        yield _counter("inspections", "Inspections taken.", self.inspections)
        yield _counter(
            "pushed_observations",
            "Observations the desk took (new or replayed).",
            self.pushed_observations,
        )
        yield _counter(
            "push_failures", "Pushes that failed and left the batch spooled.", self.push_failures
        )
        if self.last_push_success is not None:
            yield _gauge(
                "last_push_success_timestamp_seconds",
                "When the desk last took a batch, Unix time.",
                self.last_push_success,
            )
        if self.spool is not None:
            yield _gauge("spool_batches", "Batches waiting for the desk.", self.spool.batches)
            yield _gauge("spool_bytes", "Bytes waiting for the desk.", self.spool.bytes)
            yield _counter(
                "spool_dropped_batches",
                "Oldest batches dropped because the spool was full.",
                self.spool.dropped,
            )
            yield _counter(
                "rejected_batches",
                "Batches the desk refused as invalid, set aside in the spool's rejected/.",
                self.spool.rejected,
            )


def _counter(name: str, help_text: str, value: float) -> Metric:
    family = CounterMetricFamily(f"weibao_agent_{name}", help_text)
    family.add_metric([], value)
    return family


def _gauge(name: str, help_text: str, value: float) -> Metric:
    family = GaugeMetricFamily(f"weibao_agent_{name}", help_text)
    family.add_metric([], value)
    return family
