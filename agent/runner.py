"""The agent's loop: inspect, push, spool what the desk did not take, replay it later.

Order is kept: while anything is spooled, new batches go behind it, so the desk sees a
server's history in the order it happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from agent.push import PushClient, PushError
from agent.spool import Spool
from weibao.clock import Clock
from weibao.logs import log_event
from weibao.observation import Observation

log = logging.getLogger("weibao.agent")


class AgentRunner:
    def __init__(
        self,
        inspect: Callable[[], Observation],
        client: PushClient,
        spool: Spool,
        clock: Clock,
    ) -> None:
        self._inspect = inspect
        self._client = client
        self._spool = spool
        self._clock = clock

    def flush(self) -> bool:
        """Replay spooled batches in order; False when the desk is still away."""
        for path, batch in self._spool.pending():
            try:
                self._client.push(batch)
            except PushError as exc:
                if exc.retryable:
                    return False
                log_event(log, "agent.batch_rejected", logging.ERROR, error=str(exc))
                raise
            self._spool.done(path)
        return True

    def run_once(self) -> None:
        observation = self._inspect()
        self._spool.put([observation])
        if self.flush():
            log_event(log, "agent.pushed", samples=len(observation.samples))
        else:
            log_event(
                log,
                "agent.spooled",
                logging.WARNING,
                pending=len(self._spool),
                dropped=self._spool.dropped,
            )

    def run_forever(self, interval: float, stop: threading.Event) -> None:
        while not stop.is_set():
            started = self._clock.now()
            self.run_once()
            spent = (self._clock.now() - started).total_seconds()
            stop.wait(max(0.0, interval - spent))
