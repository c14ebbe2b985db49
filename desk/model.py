"""The desk's enumerations, defined once: ticket statuses, event kinds, token roles."""

from __future__ import annotations

from enum import StrEnum


class TicketStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    on_site = "on_site"
    resolved = "resolved"
    closed = "closed"

    @property
    def active(self) -> bool:
        """Whether new alarms with the same fingerprint land on this ticket."""
        return self is not TicketStatus.closed


class EventKind(StrEnum):
    """What happened on a ticket: the timeline people read and clocks are replayed from."""

    # Caused by monitoring.
    opened = "opened"
    evidence = "evidence"
    level_raised = "level_raised"
    recovered = "recovered"
    recurred = "recurred"
    escalated = "escalated"
    auto_closed = "auto_closed"
    # A dependant's ticket folded into (or linked to) its upstream's outage ticket, on both.
    merged = "merged"
    # The engineer's and manager's steps.
    acknowledged = "acknowledged"
    assigned = "assigned"
    assist_requested = "assist_requested"
    referred = "referred"
    arrived = "arrived"
    plan_submitted = "plan_submitted"
    note = "note"
    part = "part"
    paused = "paused"
    resumed = "resumed"
    due_moved = "due_moved"
    resolved = "resolved"
    signed_off = "signed_off"
    closed = "closed"
    reopened = "reopened"
    followup_done = "followup_done"


class Role(StrEnum):
    """Who holds a token, which decides what it may do (see :mod:`desk.auth`)."""

    agent = "agent"
    engineer = "engineer"
    manager = "manager"
    customer = "customer"

    @property
    def with_article(self) -> str:
        """``an agent``, ``a manager``: for messages people read."""
        return ("an " if self.value[0] in "aeiou" else "a ") + self.value

    @classmethod
    def listed(cls, roles: frozenset[Role]) -> str:
        """``engineer, manager or customer``, in declaration order."""
        names = [r.value for r in cls if r in roles]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# The actor recorded on events that the desk itself causes (as opposed to a person).
SYSTEM_ACTOR = "weibao"
