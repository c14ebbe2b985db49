"""Ingest: store each observation once, run the rules, apply the verdict to tickets.

One batch is one transaction: the observations, the engine's new state and every
ticket change commit together. If a rule fails, nothing is stored, the agent retries,
and the retry is evaluated in full. Only observations not seen before reach the engine,
so a replayed batch adds no evidence twice.

The engine's memory is kept per device (table ``engine_devices``): a batch locks the
rows of its devices, reads its devices' upstreams under a share lock and the small index
of topology series not idle, and writes back the devices that changed. So its cost
follows the batch, not the fleet, and desks working on different devices do not wait
for each other; a dependant and its upstream, which judge each other (storm folding,
:mod:`desk.tickets`), are serialised by the upstream's row. The sweep (silence,
flapping, removed devices) runs on the desk's rounds (:meth:`Ingestor.tick`) for the
devices the engine names. PostgreSQL may break a rare deadlock between two batches
(one holding an upstream another needs): the loser is run again.

Time: a batch with an observation stamped more than :data:`MAX_CLOCK_SKEW` ahead of the
desk's clock is refused whole (:class:`ClockAhead`, 422): its fault could never be
cleared by real-time data. An observation older than :data:`RULES_MAX_AGE` (a spool
replayed after a long outage) is stored, rolled up and listed, but the rules do not
see it: it cannot open a ticket whose clocks are all breached at once. The source's
next, current observation tells whether the fault is still there.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from desk.identity import IdentityIndex
from desk.storage import DeviceMemory, Store, StoreTx, WriteConflict
from desk.tickets import Notifier, TicketOutcome, apply_alarms
from rules.api import Engine, EngineState
from weibao.clock import Clock
from weibao.errors import WeibaoError
from weibao.inventory.model import Inventory
from weibao.logs import log_event
from weibao.observation import Alarm, Observation

MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the desk's clock an observation may be stamped."""
RULES_MAX_AGE = timedelta(minutes=15)
"""Older observations are stored but not evaluated by the rules."""
EXTERNAL_ATTEMPTS = 3
CONFLICT_ATTEMPTS = 5
"""Runs of a batch that PostgreSQL rolled back to break a deadlock."""

T = TypeVar("T")


class ClockAhead(WeibaoError):
    """An observation is stamped further ahead of the desk's clock than allowed."""

    def __init__(self, index: int, ahead: timedelta) -> None:
        seconds = int(ahead.total_seconds())
        super().__init__(
            f"observation {index} is stamped {seconds} s ahead of the desk's clock (at "
            f"most {int(MAX_CLOCK_SKEW.total_seconds())} s allowed): the sender's clock is "
            "ahead; synchronise it (chrony, NTP) and send again"
        )
        self.index = index
        self.ahead = ahead


def check_clock_skew(observations: Sequence[Observation], now: datetime) -> None:
    """Raise ClockAhead for the first observation stamped too far in the future."""
    for index, obs in enumerate(observations):
        if obs.time - now > MAX_CLOCK_SKEW:
            raise ClockAhead(index, obs.time - now)


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    unknown_devices: list[str]
    opened: list[str]
    """Numbers of the tickets this batch opened."""


class Ingestor:
    """Takes batches of observations for one desk; safe to call from several threads."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        inventory: Inventory,
        clock: Clock,
        logger: logging.Logger | None = None,
        notify: Notifier | None = None,
    ) -> None:
        self._notify = notify
        self._counts = {"accepted": 0, "duplicates": 0}
        self._counts_lock = threading.Lock()
        self._store = store
        self._engine = engine
        self._inventory = inventory
        self._contexts = inventory.device_index()
        self._identity = IdentityIndex(inventory)
        self._depends = {name: ctx.device.depends_on for name, ctx in self._contexts.items()}
        # Tuples of names, not sets: the garbage collector stops tracking them.
        self._upstreams: dict[str, tuple[str, ...]] = {}
        self._clock = clock
        self._log = logger or logging.getLogger("weibao.desk.ingest")

    def ingest(self, observations: Sequence[Observation]) -> IngestResult:
        """Store, evaluate and apply one batch; ClockAhead refuses it before anything."""
        now = self._clock.now()
        check_clock_skew(observations, now)
        resolved = [self._identity.resolve(obs) for obs in observations]

        def work(tx: StoreTx) -> tuple[list[Observation], TicketOutcome]:
            fresh = tx.insert_observations(resolved, self._contexts, now)
            for obs in fresh:
                tx.keep_raw(obs)
            recent = [obs for obs in fresh if now - obs.time <= RULES_MAX_AGE]
            outcome = self._evaluate(tx, recent, now, ()) if recent else TicketOutcome()
            return fresh, outcome

        fresh, outcome = self._retrying(work)
        unknown = {obs.device for obs in fresh if obs.device not in self._contexts}
        with self._counts_lock:
            self._counts["accepted"] += len(fresh)
            self._counts["duplicates"] += len(observations) - len(fresh)
        result = IngestResult(
            accepted=len(fresh),
            duplicates=len(observations) - len(fresh),
            unknown_devices=sorted(unknown),
            opened=[t.number for t in outcome.opened],
        )
        self._log_outcome(result, outcome)
        return result

    def _evaluate(
        self,
        tx: StoreTx,
        observations: Sequence[Observation],
        now: datetime,
        sweep: Collection[str],
    ) -> TicketOutcome:
        """Run the rules on the observations (and the sweep on ``sweep``'s devices) with
        the memory of their devices only, apply the verdict, write back what changed."""
        mine = {obs.device for obs in observations if obs.device in self._contexts}
        mine.update(sweep)
        upstream: set[str] = set()
        for device in mine:
            upstream.update(self._upstream(device))
        upstream -= mine
        memory = tx.lock_devices(mine, now)
        memory.update(tx.read_devices(upstream))
        state = EngineState.of_devices(
            {device: json.loads(text) for device, text in memory.items()},
            tx.topology_index(),
            sweep=bool(sweep),
        )
        evaluation = self._engine.evaluate(state, observations, now, self._inventory)
        outcome = apply_alarms(
            tx, evaluation.firing, evaluation.cleared, self._contexts, now, self._notify
        )
        # Only the devices locked here are written: an upstream's change (how its alarm
        # was last shown) is left for its own batch, which reports it again if need be.
        new = evaluation.state
        changed = [
            DeviceMemory(
                device,
                json.dumps(new.device(device), sort_keys=True, separators=(",", ":")),
                json.dumps(summary.topology, sort_keys=True) if summary.topology else None,
                summary.sweep_after,
            )
            for device, summary in sorted(evaluation.changed.items())
            if device in mine
        ]
        # A device the inventory no longer lists, with nothing left to remember, loses
        # its row (data "{}"), or every round would look at it again.
        gone = sorted(
            d
            for d in mine - set(evaluation.changed)
            if d not in self._contexts and not new.device(d)
        )
        changed += [DeviceMemory(device, "{}", None, None) for device in gone]
        tx.save_devices(changed, now)
        return outcome

    def _upstream(self, device: str) -> tuple[str, ...]:
        """Every device above ``device`` in the inventory's ``depends_on`` (memoised)."""
        found = self._upstreams.get(device)
        if found is None:
            seen: set[str] = set()
            todo = list(self._depends.get(device, ()))
            while todo:
                name = todo.pop()
                if name not in seen:
                    seen.add(name)
                    todo.extend(self._depends.get(name, ()))
            found = self._upstreams[device] = tuple(sorted(seen - {device}))
        return found

    def _retrying(self, work: Callable[[StoreTx], T]) -> T:
        """``work`` in one transaction, run again when the database broke a deadlock."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                with self._store.transaction() as tx:
                    return work(tx)
            except WriteConflict:
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                log_event(self._log, "batch.retried", logging.WARNING, attempt=attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def prepare(self) -> None:
        """Build now what the first batch would otherwise build: the engine's view of the
        inventory (which rules apply where, silence targets, advisories), so a server can
        then exclude these long-lived objects from the garbage collector
        (``gc.freeze()``): at 50,000 devices its scans of them were a fifth of a batch."""
        self._engine.sweep_scope(self._inventory, self._clock.now(), {})

    def stats(self) -> dict[str, int]:
        """Observations this process accepted and recognised as duplicates (for /metrics)."""
        with self._counts_lock:
            return dict(self._counts)

    def apply_external(self, firing: Sequence[Alarm], cleared: Sequence[Alarm]) -> TicketOutcome:
        """Apply alarms that another system already classified (Alertmanager).

        They bypass the rule engine but follow the same ticket logic: one ticket per
        fingerprint, evidence, level raise and recovery, in one transaction. They lock
        their devices' rows as ingest does, so two identical alerts arriving together open
        one ticket; should another desk process still win the race for the fault's
        ticket (the database's unique index says so), the batch is applied again and
        finds that ticket.
        """
        for attempt in range(1, EXTERNAL_ATTEMPTS + 1):
            now = self._clock.now()
            try:
                with self._store.transaction() as tx:
                    tx.lock_devices({a.device for a in (*firing, *cleared)}, now)
                    outcome = apply_alarms(tx, firing, cleared, self._contexts, now, self._notify)
                break
            except (IntegrityError, WriteConflict):
                if attempt == EXTERNAL_ATTEMPTS:
                    raise
                log_event(self._log, "alarms.retried", logging.WARNING, attempt=attempt)
        result = IngestResult(0, 0, [], [t.number for t in outcome.opened])
        self._log_outcome(result, outcome)
        return outcome

    def tick(self) -> TicketOutcome:
        """Evaluate the rules with no new observation: silence rules (an agent that stopped
        pushing) and faults that persist past the end of a maintenance window need time
        to pass, not data, to fire. Only the devices the engine names are read: those
        with a fault in memory, a source that may have gone silent, or an advisory."""
        now = self._clock.now()
        scope = self._engine.sweep_scope(self._inventory, now, self._store.sweep_marks())
        if not scope:
            return TicketOutcome()
        outcome = self._retrying(lambda tx: self._evaluate(tx, [], now, scope))
        if outcome.opened or outcome.raised or outcome.recovered or outcome.reopened:
            self._log_outcome(IngestResult(0, 0, [], [t.number for t in outcome.opened]), outcome)
        return outcome

    def _log_outcome(self, result: IngestResult, outcome: TicketOutcome) -> None:
        """Logged after commit, so the log never tells of a change that rolled back."""
        if result.accepted or result.duplicates:
            log_event(  # routine: counted into the desk.activity summary (weibao.logs)
                self._log,
                "observations.ingested",
                logging.DEBUG,
                accepted=result.accepted,
                duplicates=result.duplicates,
            )
        if result.unknown_devices:
            log_event(
                self._log,
                "observations.unknown_device",
                logging.WARNING,
                devices=",".join(result.unknown_devices),
                hint="add the device to the inventory, or fix the agent's device name",
            )
        for ticket in outcome.opened:
            # An advisory runs no clock (met when it opens): no due time to announce.
            clock: dict[str, Any] = (
                {} if ticket.met_response else {"due_response": ticket.due.response.isoformat()}
            )
            log_event(
                self._log,
                "ticket.opened",
                number=ticket.number,
                device=ticket.device,
                fault_level=ticket.level.value,
                **clock,
            )
        for ticket in outcome.reopened:
            log_event(
                self._log,
                "ticket.reopened",
                number=ticket.number,
                device=ticket.device,
                fault_level=ticket.level.value,
                reason="the fault came back",
            )
        for ticket in outcome.raised:
            log_event(
                self._log,
                "ticket.level_raised",
                number=ticket.number,
                fault_level=ticket.level.value,
            )
        for ticket in outcome.recovered:
            log_event(self._log, "ticket.recovered", number=ticket.number, device=ticket.device)
        for ticket in outcome.folded:
            log_event(self._log, "ticket.folded", number=ticket.number, into=ticket.related[-1])
        for ticket in outcome.linked:
            log_event(self._log, "ticket.linked", number=ticket.number, to=ticket.related[-1])
        for alarm in outcome.orphaned:
            log_event(
                self._log,
                "alarm.without_contract",
                logging.WARNING,
                device=alarm.device,
                rule=alarm.rule,
            )
