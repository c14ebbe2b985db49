"""From the receiver's callback to a :class:`~collector.sink.Sink`, bounded.

The receiver calls back synchronously, from the datagram path, and must never wait
for the desk; :class:`TrapForwarder` queues the observation (at most ``max_queue``;
when a storm outruns the sink the oldest are dropped and counted) and a task hands
them to the sink in batches. :class:`SerializedSink` lets the scheduler and the
forwarder share one sink that expects one delivery at a time (the disk spool).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence

from collector.sink import Sink
from weibao.logs import log_event
from weibao.observation import Observation

log = logging.getLogger("weibao.traps")
BATCH = 500


class SerializedSink:
    """One delivery at a time, whoever calls."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._lock = asyncio.Lock()

    async def deliver(self, observations: Sequence[Observation]) -> None:
        async with self._lock:
            await self.sink.deliver(observations)


class TrapForwarder:
    def __init__(self, sink: Sink, max_queue: int = 10_000) -> None:
        self.sink = sink
        self.dropped = 0
        self._queue: deque[Observation] = deque()
        self._max = max_queue
        self._ready = asyncio.Event()
        self._closed = False

    def put(self, observation: Observation) -> None:
        """The receiver's ``on_observation``: never blocks."""
        if len(self._queue) >= self._max:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log_event(log, "trap.queue_full", logging.WARNING, dropped=self.dropped)
        self._queue.append(observation)
        self._ready.set()

    async def run(self) -> None:
        """Deliver until :meth:`close`; raises what the sink raises (a fatal refusal)."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                await self.sink.deliver(batch)
            if self._closed:
                return

    def close(self) -> None:
        """Let :meth:`run` deliver what is queued, then return."""
        self._closed = True
        self._ready.set()
