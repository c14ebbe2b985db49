"""Ingest: store each observation once, run the rules, apply the verdict to tickets.

One batch is one transaction: the observations, the engine's new state and every
ticket change commit together. If a rule fails, nothing is stored, the agent retries,
and the retry is evaluated in full. Only observations not seen before reach the engine,
so a replayed batch adds no evidence twice.

Time: a batch with an observation stamped more than :data:`MAX_CLOCK_SKEW` ahead of the
desk's clock is refused whole (:class:`ClockAhead`, 422): its fault could never be
cleared by real-time data. An observation older than :data:`RULES_MAX_AGE` (a spool
replayed after a long outage) is stored, rolled up and listed, but the rules do not
see it: it cannot open a ticket whose clocks are all breached at once. The source's
next, current observation tells whether the fault is still there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from desk.identity import IdentityIndex
from desk.storage import Store
from desk.tickets import Notifier, TicketOutcome, apply_alarms
from rules.api import Engine, EngineState
from weibao.clock import Clock
from weibao.errors import WeibaoError
from weibao.inventory.model import Inventory
from weibao.logs import log_event
from weibao.observation import Alarm, Observation

ENGINE_STATE = "rules"
MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the desk's clock an observation may be stamped."""
RULES_MAX_AGE = timedelta(minutes=15)
"""Older observations are stored but not evaluated by the rules."""
EXTERNAL_ATTEMPTS = 3


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
        self._clock = clock
        self._log = logger or logging.getLogger("weibao.desk.ingest")

    def ingest(self, observations: Sequence[Observation]) -> IngestResult:
        """Store, evaluate and apply one batch; ClockAhead refuses it before anything."""
        now = self._clock.now()
        check_clock_skew(observations, now)
        fresh: list[Observation] = []
        unknown: set[str] = set()
        with self._store.transaction() as tx:
            for obs in map(self._identity.resolve, observations):
                known = obs.device in self._contexts
                if tx.insert_observation(obs, known, now):
                    tx.keep_raw(obs)
                    fresh.append(obs)
                    if not known:
                        unknown.add(obs.device)
            outcome = TicketOutcome()
            recent = [obs for obs in fresh if now - obs.time <= RULES_MAX_AGE]
            if recent:
                state = EngineState.from_json(tx.lock_engine_state(ENGINE_STATE, now))
                evaluation = self._engine.evaluate(state, recent, now, self._inventory)
                outcome = apply_alarms(
                    tx, evaluation.firing, evaluation.cleared, self._contexts, now, self._notify
                )
                tx.save_engine_state(ENGINE_STATE, evaluation.state.to_json(), now)
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

    def stats(self) -> dict[str, int]:
        """Observations this process accepted and recognised as duplicates (for /metrics)."""
        with self._counts_lock:
            return dict(self._counts)

    def apply_external(self, firing: Sequence[Alarm], cleared: Sequence[Alarm]) -> TicketOutcome:
        """Apply alarms that another system already classified (Alertmanager).

        They bypass the rule engine but follow the same ticket logic: one ticket per
        fingerprint, evidence, level raise and recovery, in one transaction. They take
        the engine's lock as ingest does, so two identical alerts arriving together open
        one ticket; should another desk process still win the race for the fault's
        ticket (the database's unique index says so), the batch is applied again and
        finds that ticket.
        """
        for attempt in range(1, EXTERNAL_ATTEMPTS + 1):
            now = self._clock.now()
            try:
                with self._store.transaction() as tx:
                    tx.lock_engine_state(ENGINE_STATE, now)
                    outcome = apply_alarms(tx, firing, cleared, self._contexts, now, self._notify)
                break
            except IntegrityError:
                if attempt == EXTERNAL_ATTEMPTS:
                    raise
                log_event(self._log, "alarms.retried", logging.WARNING, attempt=attempt)
        result = IngestResult(0, 0, [], [t.number for t in outcome.opened])
        self._log_outcome(result, outcome)
        return outcome

    def tick(self) -> TicketOutcome:
        """Evaluate the rules with no new observation: silence rules (an agent that stopped
        pushing) and faults that persist past the end of a maintenance window need time
        to pass, not data, to fire."""
        now = self._clock.now()
        with self._store.transaction() as tx:
            state = EngineState.from_json(tx.lock_engine_state(ENGINE_STATE, now))
            evaluation = self._engine.evaluate(state, [], now, self._inventory)
            outcome = apply_alarms(
                tx, evaluation.firing, evaluation.cleared, self._contexts, now, self._notify
            )
            tx.save_engine_state(ENGINE_STATE, evaluation.state.to_json(), now)
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
            log_event(
                self._log,
                "ticket.opened",
                number=ticket.number,
                device=ticket.device,
                fault_level=ticket.level.value,
                due_response=ticket.due.response.isoformat(),
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
