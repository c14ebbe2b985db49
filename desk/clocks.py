"""The three SLA clocks of a ticket: response, on site (or plan submitted), resolution.

Each runs from the fault's detection with the length the contract sets for the level,
and the on-site clock depends on whether the site is a headquarters. Due times are
UTC; the site's time zone is for display only. Pure functions: "now" is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from desk.storage.records import DueTimes
from weibao.inventory.model import DeviceContext
from weibao.levels import Level, SlaTerms


class ClockName(StrEnum):
    response = "response"
    onsite = "onsite"
    resolve = "resolve"


def compute_due(terms: SlaTerms, hq: bool, detected_at: datetime) -> DueTimes:
    """Due times from detection; raises ValueError for a naive detection time."""
    if detected_at.tzinfo is None:
        raise ValueError("detection time must be timezone-aware")
    start = detected_at.astimezone(UTC)
    return DueTimes(
        response=start + terms.response,
        onsite=start + terms.onsite(hq),
        resolve=start + terms.resolve,
    )


def due_for(ctx: DeviceContext, level: Level, detected_at: datetime) -> DueTimes:
    """Due times under the device's contract, at its site, for this level."""
    return compute_due(ctx.sla(level), ctx.site.hq, detected_at)


@dataclass(frozen=True)
class ClockState:
    """One clock as shown to people: when it is due, when it was met, whether it broke."""

    due: datetime
    met_at: datetime | None
    breached: bool


def clock_state(due: datetime, met_at: datetime | None, now: datetime) -> ClockState:
    """A met clock is breached if met late; a running one once ``now`` is past due."""
    breached = met_at > due if met_at is not None else now > due
    return ClockState(due=due, met_at=met_at, breached=breached)
