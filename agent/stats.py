"""The agent's account of its own work, exported on ``/metrics``
(:func:`agent.metrics.agent_families`).

The runner counts; the collector reads. Plain integers written by one thread and read
by another need no lock under the GIL, and a scrape that sees a count one step old is
harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

from weibao.delivery.spool import Spool


@dataclass
class AgentStats:
    spool: Spool | None = None
    inspections: int = 0
    pushed_observations: int = 0
    push_failures: int = 0
    last_push_success: float | None = None  # Unix time
