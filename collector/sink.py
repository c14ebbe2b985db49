"""Where the collector's observations go: a seam between inspecting and delivering.

The command (:mod:`weibao.cli.collector_cmd`) wires the push client and disk spool of
:mod:`weibao.delivery`, which the agent uses too, behind this protocol; tests pass a
list. ``deliver`` is awaited by one task at a time, so an implementation needs no
locking, and is async so a slow desk can be pushed to from a thread without blocking the
inspections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from weibao.observation import Observation


class Sink(Protocol):
    async def deliver(self, observations: Sequence[Observation]) -> None:
        """Take a batch; raise only when delivering can never work (the collector stops)."""
        ...


class ListSink:
    """Keeps every batch in memory: for tests and for ``weibao inspect``."""

    def __init__(self) -> None:
        self.observations: list[Observation] = []

    async def deliver(self, observations: Sequence[Observation]) -> None:
        self.observations.extend(observations)
