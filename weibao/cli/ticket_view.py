"""How tickets read on a terminal: the list, one ticket, and the line a step prints.

Pure functions over the desk's ticket JSON (``TicketOut`` / ``TicketSummary``): "now"
is passed in, times are shown in the site's time zone, and every text from a ticket is
handed to Rich as plain ``Text``, so a title with ``[brackets]`` is never read as markup.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from weibao.numbers import format_value

# The second clock is "onsite" at levels I-III and "plan" at level IV: a ticket has one.
CLOCKS = (
    ("response", "response"),
    ("onsite", "on site"),
    ("plan", "plan"),
    ("resolve", "resolve"),
)
SHORT = "%m-%d %H:%M"
LONG = "%Y-%m-%d %H:%M"
PIPE_WIDTH = 240


def zone_of(ticket: dict[str, Any]) -> tzinfo:
    try:
        return ZoneInfo(str(ticket.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def local(value: Any, zone: tzinfo, fmt: str = SHORT) -> str:
    """An RFC 3339 time from the desk in the site's time zone, or ``-``."""
    parsed = parse_time(value)
    return parsed.astimezone(zone).strftime(fmt) if parsed else "-"


def span(seconds: float) -> str:
    """``3d 4h``, ``2h 5m``, ``12m``, ``<1m``: precise enough to act on, short enough to scan."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m" if mins else "<1m"


def until(due: Any, now: datetime) -> str:
    """``in 12m`` or ``overdue 5m``."""
    parsed = parse_time(due)
    if parsed is None:
        return "?"
    left = (parsed - now).total_seconds()
    return f"in {span(left)}" if left >= 0 else f"overdue {span(left)}"


def next_clock(ticket: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The first clock still running (response, then on site, then resolve)."""
    clocks = ticket.get("clocks") or {}
    for key, label in CLOCKS:
        clock = clocks.get(key)
        if isinstance(clock, dict) and clock.get("met_at") is None:
            return label, clock
    return None


def clock_phrase(label: str, clock: dict[str, Any], zone: tzinfo, now: datetime) -> str:
    """One clock in a few words: met (late or not), paused, or due when."""
    due = local(clock.get("due"), zone)
    if clock.get("met_at") is not None:
        late = " late" if clock.get("breached") else ""
        return f"{label} met{late} {local(clock['met_at'], zone)}"
    if clock.get("paused"):
        return f"{label} paused (due {due})"
    left = until(clock.get("due"), now)
    if clock.get("breached") and not left.startswith("overdue"):
        left = "breached"  # the desk's clock says so, whatever this machine's says
    return f"{label} due {due} ({left})"


NO_CLOCKS = "no SLA clock (advisory)"


def next_clock_text(ticket: dict[str, Any], now: datetime) -> str:
    if ticket.get("clocks") is None:
        return NO_CLOCKS
    found = next_clock(ticket)
    if found is None:
        return "all met"
    return clock_phrase(*found, zone_of(ticket), now)


def step_lines(ticket: dict[str, Any], now: datetime) -> list[str]:
    """What a step prints: the ticket's new status, then its three clocks."""
    zone = zone_of(ticket)
    clocks = ticket.get("clocks") or {}
    head = (
        f"{ticket.get('number')}: {str(ticket.get('status', '?')).replace('_', ' ')} · "
        f"level {ticket.get('level')} · {ticket.get('device')}"
    )
    if ticket.get("assignee"):
        head += f" · assignee {ticket['assignee']}"
    parts = [
        clock_phrase(label, clocks[key], zone, now)
        for key, label in CLOCKS
        if isinstance(clocks.get(key), dict)
    ]
    if ticket.get("clocks") is None:
        return [head, f"  clocks: {NO_CLOCKS}"]
    return [head, "  clocks: " + " · ".join(parts)] if parts else [head]


def ticket_table(items: list[dict[str, Any]], now: datetime) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("NUMBER", "LVL", "STATUS", "DEVICE", "TITLE", "NEXT CLOCK (site time)"):
        table.add_column(name, overflow="fold", no_wrap=name in ("NUMBER", "LVL", "STATUS"))
    for t in items:
        clock = Text(next_clock_text(t, now))
        if "overdue" in clock.plain:
            clock.stylize("bold red")
        table.add_row(
            Text(str(t.get("number", ""))),
            Text(str(t.get("level", ""))),
            Text(str(t.get("status", "")).replace("_", " ")),
            Text(str(t.get("device", ""))),
            Text(str(t.get("title", ""))),
            clock,
        )
    return table


def followup_table(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("NUMBER", "CUSTOMER", "DEVICE", "TITLE", "CLOSED", "CALL DUE"):
        table.add_column(name, overflow="fold")
    for t in items:
        zone = zone_of(t)
        table.add_row(
            *(Text(str(t.get(k, ""))) for k in ("number", "customer", "device", "title")),
            Text(local(t.get("closed_at"), zone)),
            Text(local(t.get("followup_due_at"), zone)),
        )
    return table


def render_ticket(
    ticket: dict[str, Any], now: datetime, raw_lines: int | None = 12
) -> RenderableType:
    """``weibao ticket show``: header, clocks, snapshot, parts, timeline.

    ``raw_lines`` bounds each verbatim output shown (None: all of it, for ``--raw``)."""
    zone = zone_of(ticket)
    blocks: list[RenderableType] = [_header(ticket, zone)]
    if ticket.get("clocks") is None:
        blocks.append(Text(f"{NO_CLOCKS}: for the service manager, nothing is due"))
    else:
        blocks.append(_clocks(ticket, zone, now))
    events = ticket.get("events") or []
    snapshot = _snapshot(ticket.get("snapshot") or {}, zone, firing_samples(events))
    if snapshot.plain:
        blocks += [Text("Snapshot", style="bold"), snapshot]
    raw = _raw(ticket.get("snapshot") or {}, zone, raw_lines)
    if raw.plain:
        blocks += [Text("What the device said", style="bold"), raw]
    parts = ticket.get("parts") or []
    if parts:
        blocks += [Text("Parts", style="bold"), _parts(parts, zone)]
    blocks += [Text("Timeline", style="bold"), _timeline(ticket.get("events") or [], zone)]
    allowed = ticket.get("allowed_steps") or []
    if allowed:
        blocks.append(Text(f"possible now: {', '.join(allowed)}", style="dim"))
    return Group(*blocks)


def print_renderable(renderable: RenderableType) -> None:
    """Print to stdout as it is now (made per call: tests swap it). Into a pipe, rows
    are not wrapped at 80 columns, so ``weibao ticket list | grep`` sees one line each."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=PIPE_WIDTH)
    console.print(renderable)


def _header(t: dict[str, Any], zone: tzinfo) -> Text:
    text = Text()
    text.append(f"{t.get('number')}  ", style="bold")
    text.append(f"level {t.get('level')}  {str(t.get('status', '')).replace('_', ' ')}\n")
    text.append(f"{t.get('title', '')}\n", style="bold")
    text.append(
        f"customer {t.get('customer')} · contract {t.get('contract')} · site {t.get('site')} "
        f"({t.get('timezone')}) · device {t.get('device')}\n"
    )
    facts = [
        f"detected {local(t.get('detected_at'), zone, LONG)}",
        f"assignee {t.get('assignee') or '-'}",
        f"evidence {t.get('evidence_count', 0)}",
    ]
    if t.get("recovered_at"):
        facts.append(f"recovered {local(t['recovered_at'], zone, LONG)}")
    if t.get("recurrences"):
        facts.append(f"recurred {t['recurrences']}x")
    if (t.get("labels") or {}).get("audience") == "management":
        facts.append("advisory for the service manager, not shown to the customer")
    elif t.get("internal"):
        facts.append("internal (monitoring's own fault)")
    text.append(" · ".join(facts))
    if t.get("related"):
        text.append(f"\nrelated: {', '.join(map(str, t['related']))}")
    if t.get("followup_due_at"):
        done = t.get("followup_done_at")
        text.append(
            f"\nfollow-up call due {local(t['followup_due_at'], zone, LONG)}"
            + (f", done {local(done, zone, LONG)}" if done else "")
        )
    return text


def _clocks(t: dict[str, Any], zone: tzinfo, now: datetime) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False, title_justify="left")
    for name in ("CLOCK", "DUE (site time)", "STATE", "USED"):
        table.add_column(name, overflow="fold")
    clocks = t.get("clocks") or {}
    for key, label in CLOCKS:
        clock = clocks.get(key)
        if not isinstance(clock, dict):
            continue
        state = _state(clock, zone, now)
        used = clock.get("used")
        table.add_row(
            Text(label),
            Text(local(clock.get("due"), zone, LONG)),
            state,
            Text(f"{used:.0%}" if isinstance(used, int | float) else "-"),
        )
        for move in clock.get("moves") or []:
            table.add_row(
                Text(""),
                Text(f"was {local(move.get('previous'), zone, LONG)}", style="dim"),
                Text(
                    f"moved by {move.get('by')}, agreed by {move.get('agreed_by')}: "
                    f"{move.get('reason')}",
                    style="dim",
                ),
                Text(""),
            )
    return table


def _state(clock: dict[str, Any], zone: tzinfo, now: datetime) -> Text:
    if clock.get("met_at") is not None:
        met = local(clock["met_at"], zone, LONG)
        if clock.get("breached"):
            return Text(f"met late {met} (breached)", style="red")
        return Text(f"met {met}", style="green")
    if clock.get("paused"):
        return Text("paused", style="yellow")
    left = until(clock.get("due"), now)
    if clock.get("breached") or left.startswith("overdue"):
        return Text(f"breached, {left}", style="bold red")
    return Text(f"running, {left}")


def _sample(s: Any) -> str:
    if not isinstance(s, dict):
        return str(s)
    labels = s.get("labels") or {}
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    value = s.get("value")
    shown = format_value(value) if isinstance(value, int | float) else str(value)
    return f"{s.get('name')}{{{inner}}}={shown}" if inner else f"{s.get('name')}={shown}"


def _key(s: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    if not isinstance(s, dict):
        return (str(s), ())
    labels = s.get("labels") or {}
    return (str(s.get("name")), tuple(sorted((str(k), str(v)) for k, v in labels.items())))


def firing_samples(events: list[dict[str, Any]]) -> list[Any]:
    """The samples that made the rule fire (the alarm's evidence, recorded when the
    ticket opened; a level raise's when it got worse): not the observation's first
    samples, which on a 52-port switch are rarely the port that is down."""
    fired: list[Any] = []
    for e in events:
        data = e.get("data") or {}
        if e.get("kind") in ("opened", "level_raised") and isinstance(data.get("samples"), list):
            fired = data["samples"] or fired
    return fired


def _snapshot(snapshot: dict[str, Any], zone: tzinfo, fired: list[Any] | None = None) -> Text:
    text = Text()
    obs = snapshot.get("observation")
    if isinstance(obs, dict):
        samples = obs.get("samples") or []
        total = obs.get("samples_total", len(samples))
        if fired:
            shown = ", ".join(_sample(s) for s in fired[:8])
            of = f" ({len(fired)} of the {total} samples)" if total > len(fired) else ""
            more = f" (+{len(fired) - 8} more)" if len(fired) > 8 else ""
            what = f"{shown}{more}{of}"
        else:
            shown = ", ".join(_sample(s) for s in samples[:8])
            first = min(len(samples), 8)
            what = (shown or "no samples") + (f" (+{total - first} more)" if total > first else "")
        text.append(
            f"fired by {obs.get('source')} observation at {local(obs.get('time'), zone, LONG)}: "
            f"{what}"
        )
        if obs.get("error"):
            text.append(f"\nerror: {obs['error']}")
    history = snapshot.get("history") or []
    wanted = {_key(x) for x in fired or []}
    if history:
        if text.plain:
            text.append("\n")
        text.append(f"recent history ({len(history)}):")
        for h in history:
            state = "ok" if h.get("ok", True) else f"failed: {h.get('error') or '?'}"
            mine = h.get("samples") or []
            if fired:  # the firing series over time, not the first four of each
                mine = [x for x in mine if _key(x) in wanted] or mine
            samples = ", ".join(_sample(x) for x in mine[:4])
            text.append(
                f"\n  {local(h.get('time'), zone, LONG)} {h.get('source')} {state}"
                + (f" {samples}" if samples else "")
            )
    return text


def _raw(snapshot: dict[str, Any], zone: tzinfo, lines: int | None) -> Text:
    """The verbatim outputs, each cut to ``lines`` with a pointer to ``--raw``."""
    raw = snapshot.get("raw")
    text = Text()
    if not isinstance(raw, dict) or not isinstance(raw.get("outputs"), dict):
        return text
    text.append(f"{raw.get('source')} at {local(raw.get('time'), zone, LONG)}", style="dim")
    for key, output in sorted(raw["outputs"].items()):
        rows = str(output).splitlines()
        shown = rows if lines is None else rows[:lines]
        text.append(f"\n── {key} ──\n", style="bold")
        text.append("\n".join(shown), style=None)
        if len(shown) < len(rows):
            text.append(f"\n… {len(rows) - len(shown)} more lines (weibao ticket show --raw)")
    return text


def _parts(parts: list[dict[str, Any]], zone: tzinfo) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("WHEN", "BY", "PART", "QTY", "SERIAL OUT", "SERIAL IN", "RMA"):
        table.add_column(name, overflow="fold")
    for p in parts:
        rma = f"{p['rma_number']} ({p.get('rma_status')})" if p.get("rma_number") else "-"
        name = f"{p.get('part_number')} {p.get('name')}"
        if p.get("from_stock") is False:
            name += " (not from stock)"
        table.add_row(
            Text(local(p.get("at"), zone)),
            Text(str(p.get("actor", ""))),
            Text(name),
            Text(str(p.get("quantity", ""))),
            Text(str(p.get("serial_out") or "-")),
            Text(str(p.get("serial_in") or "-")),
            Text(rma),
        )
    return table


def _timeline(events: list[dict[str, Any]], zone: tzinfo) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("WHEN (site time)", "WHAT", "WHO", "DETAILS"):
        table.add_column(name, overflow="fold")
    for e in events:
        table.add_row(
            Text(local(e.get("at"), zone, LONG)),
            Text(str(e.get("kind", "")).replace("_", " ")),
            Text(str(e.get("actor", ""))),
            Text(describe_event(str(e.get("kind", "")), e.get("data") or {}, zone)),
        )
    return table


def clock_word(name: Any) -> str:
    """A clock's name from an event in the words the clock table uses."""
    return dict(CLOCKS).get(str(name), str(name))


def describe_event(kind: str, d: dict[str, Any], zone: tzinfo) -> str:
    """The event's data in words; unknown kinds show their plain fields."""

    def join(*items: str | None) -> str:
        return "; ".join(i for i in items if i)

    def opt(key: str, prefix: str = "") -> str | None:
        return f"{prefix}{d[key]}" if d.get(key) not in (None, "") else None

    match kind:
        case "opened":
            return join(f"level {d.get('level')}", opt("rule", "rule "), opt("assignee", "to "))
        case "evidence":
            # A run of reports is one row (issue 15, item 10): how many, since when.
            run = d.get("reports")
            since = (
                f"{run} reports since {local(d['first_at'], zone, LONG)}"
                if isinstance(run, int) and run > 1 and d.get("first_at")
                else None
            )
            return join(opt("level", "level "), opt("rule", "rule "), since)
        case "level_raised":
            return f"level {d.get('from')} -> {d.get('to')}"
        case "recovered":
            return f"fault cleared at {local(d.get('observed_at'), zone, LONG)}"
        case "recurred":
            return join("the fault came back", opt("recurrences", "recurrences: "))
        case "escalated":
            used = d.get("used")
            share = f" ({used:.0%} used)" if isinstance(used, int | float) else ""
            return f"{clock_word(d.get('clock'))} clock: {d.get('step')}{share}, manager notified"
        case "merged" if d.get("into"):
            how = "folded into" if d.get("how") == "folded" else "linked to"
            return f"{how} {d.get('into')}, the outage of {d.get('root_device', 'its upstream')}"
        case "merged":
            folded = [str(f.get("number")) for f in d.get("folded", []) if isinstance(f, dict)]
            linked = [str(f.get("number")) for f in d.get("linked", []) if isinstance(f, dict)]
            return join(
                f"folded {len(folded)}: {', '.join(folded[:10])}" if folded else None,
                f"linked {len(linked)}: {', '.join(linked[:10])}" if linked else None,
            )
        case "plan_submitted":
            return str(d.get("plan", ""))
        case "note":
            return str(d.get("text", ""))
        case "part":
            serials = join(
                opt("serial_out", "out "), opt("serial_in", "in "), opt("rma_number", "RMA ")
            )
            what = f"{d.get('quantity', 1)} x {d.get('part_number')} {d.get('name', '')}".strip()
            if not d.get("from_stock", True):
                what += " (not from stock)"
            return join(what, serials)
        case "resolved":
            return join(
                opt("diagnosis", "diagnosis: "),
                opt("cause", "cause: "),
                opt("actions", "actions: "),
            )
        case "signed_off":
            return join(f"{d.get('name')}, satisfaction {d.get('satisfaction')}/5", opt("opinion"))
        case "closed":
            return join(
                opt("reason"),
                f"follow-up call due {local(d['followup_due'], zone, LONG)}"
                if d.get("followup_due")
                else None,
            )
        case "assigned":
            return join(
                f"to {d.get('to')}" + (f" (was {d['previous']})" if d.get("previous") else ""),
                opt("reason"),
            )
        case "assist_requested":
            return join(opt("engineer", "engineer "), opt("reason"))
        case "referred":
            return join(f"{d.get('referred_to')} {d.get('to')}", opt("reason"))
        case "due_moved":
            return join(
                f"{clock_word(d.get('clock'))} due {local(d.get('previous'), zone, LONG)} -> "
                f"{local(d.get('due'), zone, LONG)}, agreed by {d.get('agreed_by')}",
                opt("reason"),
            )
        case "followup_done":
            score = d.get("satisfaction")
            return join(opt("outcome"), f"satisfaction {score}/5" if score else None)
        case "paused":
            return join(opt("reason"), opt("note"))
    plain = {
        k: v
        for k, v in d.items()
        if isinstance(v, str | int | float | bool) and k != "observation_id"
    }
    return "; ".join(
        f"{k}: {v}" if k not in ("note", "reason") else str(v) for k, v in plain.items()
    )
