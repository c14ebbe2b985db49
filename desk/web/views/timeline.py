"""A ticket's timeline in words, and what of it a customer may read.

The wording follows ``weibao ticket show`` (:func:`weibao.cli.ticket_view.describe_event`)
but speaks the reader's language. :func:`desk.disclosure.customer_events` decides
what the portal shows: an allowlist of event kinds, with internal details (escalations,
technical referrals, RMA numbers, our staff's notes) left out, so a new event kind
stays hidden from customers until someone decides it may be shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from desk.model import EventKind
from desk.storage import EventRecord
from desk.web.views.common import LONG, Gettext, clock_label, local, parse_time


@dataclass(frozen=True)
class TimelineEntry:
    at_local: str
    kind: str
    what: str
    actor: str
    details: str


def kind_label(kind: str, _: Gettext) -> str:
    labels = {
        EventKind.opened: _("opened"),
        EventKind.evidence: _("evidence"),
        EventKind.level_raised: _("level raised"),
        EventKind.recovered: _("fault cleared"),
        EventKind.recurred: _("fault came back"),
        EventKind.escalated: _("escalated"),
        EventKind.auto_closed: _("closed automatically"),
        EventKind.acknowledged: _("acknowledged"),
        EventKind.assigned: _("assigned"),
        EventKind.assist_requested: _("assistance requested"),
        EventKind.referred: _("referred"),
        EventKind.arrived: _("arrived on site"),
        EventKind.plan_submitted: _("plan submitted"),
        EventKind.note: _("note"),
        EventKind.part: _("part"),
        EventKind.paused: _("paused"),
        EventKind.resumed: _("resumed"),
        EventKind.due_moved: _("due time moved"),
        EventKind.resolved: _("resolved"),
        EventKind.signed_off: _("signed off"),
        EventKind.closed: _("closed"),
        EventKind.reopened: _("reopened"),
        EventKind.followup_done: _("follow-up call"),
        EventKind.merged: _("part of an outage"),
    }
    return str(labels.get(kind, kind.replace("_", " ")))  # type: ignore[call-overload]


def timeline(events: Iterable[EventRecord], tz: str, _: Gettext) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at_local=local(ev.at, tz, LONG),
            kind=ev.kind,
            what=kind_label(ev.kind, _),
            actor=ev.actor,
            details=describe(ev.kind, ev.data, tz, _),
        )
        for ev in events
    ]


def describe(kind: str, d: dict[str, Any], tz: str, _: Gettext) -> str:
    """The event's data in words; unknown kinds show their plain fields."""

    def join(*items: str | None) -> str:
        return "; ".join(i for i in items if i)

    def opt(key: str, prefix: str = "") -> str | None:
        value = d.get(key)
        return f"{prefix}{value}" if value not in (None, "") else None

    def when(key: str) -> str:
        return local(parse_time(d.get(key)), tz, LONG)

    match kind:
        case "opened":
            return join(
                _("level %(level)s") % {"level": d.get("level")},
                opt("rule", _("rule") + " "),
                opt("assignee", _("to") + " "),
            )
        case "evidence":
            run = d.get("reports")
            since = (
                _("%(count)d reports since %(time)s") % {"count": run, "time": when("first_at")}
                if isinstance(run, int) and run > 1 and d.get("first_at")
                else None
            )
            return join(opt("level", _("level") + " "), opt("rule", _("rule") + " "), since)
        case "level_raised":
            return _("level %(from)s → %(to)s") % {"from": d.get("from"), "to": d.get("to")}
        case "recovered":
            return _("the fault cleared at %(time)s") % {"time": when("observed_at")}
        case "recurred":
            return join(_("the fault came back"), opt("recurrences", _("recurrences") + ": "))
        case "escalated":
            used = d.get("used")
            share = f" ({used:.0%})" if isinstance(used, int | float) else ""
            return _("%(clock)s clock: %(step)s%(share)s, manager notified") % {
                "clock": clock_label(str(d.get("clock")), _),
                "step": d.get("step"),
                "share": share,
            }
        case "merged" if d.get("into"):
            text = (
                _("folded into %(number)s, the outage of %(device)s")
                if d.get("how") == "folded"
                else _("linked to %(number)s, the outage of %(device)s")
            )
            return text % {"number": d.get("into"), "device": d.get("root_device", "")}
        case "merged":
            counts = {
                "folded": len(d.get("folded", [])),
                "linked": len(d.get("linked", [])),
            }
            return _("tickets of devices behind it: %(folded)s folded, %(linked)s linked") % counts
        case "plan_submitted":
            return str(d.get("plan", ""))
        case "note":
            return str(d.get("text", ""))
        case "part":
            what = f"{d.get('quantity', 1)} × {d.get('part_number')} {d.get('name', '')}".strip()
            if d.get("from_stock") is False:
                what += " (" + _("not from stock") + ")"
            return join(
                what,
                opt("serial_out", _("out") + " "),
                opt("serial_in", _("in") + " "),
                opt("rma_number", "RMA "),
            )
        case "resolved":
            return join(
                opt("diagnosis", _("diagnosis") + ": "),
                opt("cause", _("cause") + ": "),
                opt("actions", _("actions") + ": "),
            )
        case "signed_off":
            return join(
                _("%(name)s, satisfaction %(score)s/5")
                % {"name": d.get("name"), "score": d.get("satisfaction")},
                opt("opinion"),
            )
        case "closed":
            due = d.get("followup_due")
            return join(
                opt("reason"),
                _("follow-up call due %(time)s") % {"time": when("followup_due")} if due else None,
            )
        case "assigned":
            prev = d.get("previous")
            return join(
                _("to %(name)s") % {"name": d.get("to")}
                + (" (" + _("was %(name)s") % {"name": prev} + ")" if prev else ""),
                opt("reason"),
            )
        case "assist_requested":
            return join(opt("engineer"), opt("reason"))
        case "referred":
            return join(f"{d.get('referred_to')}: {d.get('to')}", opt("reason"))
        case "due_moved":
            return join(
                _("%(clock)s due %(before)s → %(after)s, agreed by %(who)s")
                % {
                    "clock": clock_label(str(d.get("clock")), _),
                    "before": when("previous"),
                    "after": when("due"),
                    "who": d.get("agreed_by"),
                },
                opt("reason"),
            )
        case "followup_done":
            score = d.get("satisfaction")
            return join(
                opt("outcome"),
                _("satisfaction %(score)s/5") % {"score": score} if score else None,
            )
        case "paused" | "resumed" | "acknowledged" | "arrived" | "reopened":
            return join(opt("reason"), opt("note"))
    plain = {
        k: v
        for k, v in d.items()
        if isinstance(v, str | int | float | bool) and k != "observation_id"
    }
    return "; ".join(f"{k}: {v}" for k, v in plain.items())
