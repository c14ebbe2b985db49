"""Tickets as the desk writes them, many of them, fast.

Opening and working 20,000 tickets through the workflow would take longer than the
benchmark itself. So a few hundred *templates* are made by the desk's own code on a
scratch SQLite desk (``apply_alarms`` with a snapshot of the device's last inspections
and its raw SSH output, ``Workflow`` steps, the escalation job's ``escalate``, a
recovery, a recurrence), and the benchmark's tickets are copies of them moved in time
(whole weeks plus a few minutes, so business hours still line up) and onto a device of
the scenario: same columns, same event kinds and data, same escalation and part rows.
"""

from __future__ import annotations

import random
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fleet
from sqlalchemy import create_engine, insert, select

from desk import steps
from desk.clocks import ClockPolicy
from desk.escalation import escalate
from desk.model import Role
from desk.storage import Store
from desk.storage.tables import EscalationRow, PartUseRow, TicketEventRow, TicketRow
from desk.tickets import Silent, apply_alarms
from desk.workflow import Actor, Workflow
from weibao.clock import FrozenClock
from weibao.inventory.model import DeviceContext, Inventory
from weibao.levels import Level
from weibao.observation import Alarm, Observation, Sample

MIN = timedelta(minutes=1)
WEEK = timedelta(days=7)
TEMPLATE_WEEK = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday
STARTS = (timedelta(hours=2), timedelta(days=2, hours=9, minutes=30), timedelta(days=5, hours=3))
RULES = {
    Level.I: ("device_unreachable", "设备不可达", "up", 0.0),
    Level.II: ("power_supply_failed", "电源模块故障", "power_supply_ok", 0.0),
    Level.III: ("filesystem_full", "文件系统使用率过高", "filesystem_usage_ratio", 0.93),
    Level.IV: ("cpu_high", "CPU 使用率过高", "cpu_usage_ratio", 0.91),
}
LEVEL_WEIGHTS = {Level.I: 5, Level.II: 20, Level.III: 45, Level.IV: 30}
RAW_COMMANDS = (
    "uptime",
    "df -hP",
    "free -m",
    "ipmitool sdr",
    "dmesg | tail -50",
    "systemctl --failed",
    "ip -s link",
    "smartctl -H /dev/sda",
)

Step = tuple[int, str, Any]  # minutes after detection, step, body (None: a probe)


def lifecycles(pause: str) -> dict[str, tuple[int, list[Step]]]:
    """Lifecycle name -> (weight, steps). ``recover``/``recur`` are monitoring's."""
    fix = steps.Resolve(diagnosis="电源模块 2 故障", cause="部件老化", actions="更换电源模块")
    part = steps.Part(
        part_number="PSU-900W",
        name="900W 电源",
        from_stock=False,
        serial_out="SN-OUT-1",
        serial_in="SN-IN-1",
        rma_number="RMA-2026-0001",
    )
    return {
        "normal": (
            35,
            [
                (8, "ack", steps.Ack()),
                (35, "arrive", steps.Arrive()),
                (150, "recover", None),
                (170, "resolve", fix),
                (240, "signoff", 5),
            ],
        ),
        "late": (
            10,
            [
                (40, "ack", steps.Ack(note="路上堵车")),
                (130, "arrive", steps.Arrive(note="客户门禁")),
                (590, "recover", None),
                (600, "resolve", fix),
                (700, "signoff", 3),
            ],
        ),
        "plan": (
            15,
            [
                (6, "assign", steps.Assign(engineer="工程师1")),
                (12, "ack", steps.Ack()),
                (25, "plan", steps.Plan(plan="远程重启服务")),
                (80, "recover", None),
                (90, "resolve", fix),
                (200, "signoff", 4),
            ],
        ),
        "paused": (
            8,
            [
                (10, "ack", steps.Ack()),
                (50, "arrive", steps.Arrive()),
                (60, "pause", steps.Pause(reason=pause, note="备件在途")),
                (60 * 26, "resume", steps.Resume()),
                (60 * 27 - 10, "recover", None),
                (60 * 27, "resolve", fix),
                (60 * 30, "signoff", 4),
            ],
        ),
        "reopened": (
            5,
            [
                (5, "ack", steps.Ack()),
                (40, "arrive", steps.Arrive()),
                (120, "resolve", fix),
                # A reopened ticket goes back to whoever had it (acknowledged): no new ack.
                (300, "reopen", steps.Reopen(reason="故障复现")),
                (310, "note", steps.Note(text="重新排查")),
                (390, "recover", None),
                (400, "resolve", fix),
                (500, "signoff", 2),
            ],
        ),
        "part": (
            10,
            [
                (10, "ack", steps.Ack()),
                (45, "arrive", steps.Arrive()),
                (90, "part", part),
                (140, "recover", None),
                (150, "resolve", fix),
                (300, "signoff", 5),
            ],
        ),
        "open": (
            7,
            [(15, "ack", steps.Ack()), (60, "note", steps.Note(text="等待厂商备件，预计下周到货"))],
        ),
        "recurred": (
            10,
            [
                (5, "ack", steps.Ack()),
                (30, "arrive", steps.Arrive()),
                (60, "recover", None),
                (70, "resolve", fix),
                (80, "signoff", 5),
                (300, "recur", None),
                (310, "ack", steps.Ack()),
                (330, "recover", None),
                (400, "resolve", fix),
            ],
        ),
    }


PROBES = (5, 10, 15, 20, 25, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1440, 2880)
"""When the escalation job looks at the template (minutes after detection)."""


@dataclass
class Template:
    name: str
    level: Level
    calendar: bool
    ticket: dict[str, Any]
    events: list[dict[str, Any]]
    escalations: list[dict[str, Any]]
    parts: list[dict[str, Any]]
    device: str
    engineers: tuple[str, ...]


def make_templates(progress: Callable[[str], None], starts: int | None = None) -> list[Template]:
    """Every lifecycle at every level, under 24x7 and business hours, from a few starts."""
    doc = fleet.inventory_doc([4], {0})
    inventory = Inventory.model_validate(doc)
    contexts = inventory.device_index()
    with tempfile.TemporaryDirectory(prefix="weibao-bench-templates-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'templates.db'}"
        store = Store(url)
        store.migrate()
        clock = FrozenClock(TEMPLATE_WEEK)
        work = Workflow(store, inventory, clock)
        made: list[tuple[str, Level, bool, int, str]] = []
        serial = 0
        for calendar, device in ((False, "c00-dev-0000"), (True, "c00-dev-0002")):
            ctx = contexts[device]
            for name, (_, plan) in lifecycles(fleet.PAUSE_REASONS[1]).items():
                for level in Level:
                    for start in STARTS[:starts]:
                        serial += 1
                        t0 = TEMPLATE_WEEK + start + serial * timedelta(seconds=7)
                        tid = _live(store, work, clock, ctx, level, plan, t0, serial)
                        made.append((name, level, calendar, tid, device))
        progress(f"{len(made)} ticket templates made by the desk's own code")
        out = [_read(store, *m, engineers=("工程师0", "工程师1")) for m in made]
        store.close()
    return out


def _observation(device: str, at: datetime, serial: int, raw: bool) -> Observation:
    """An inspection before the fault. A third of the templates come from SSH (eight
    commands' output), a third from SNMP (the values read), a third from the agent
    (which keeps nothing verbatim): the snapshot holds what the source kept."""
    d = fleet.index_of(device)
    day, i = divmod(int((at - fleet.EPOCH) / MIN), fleet.DAY_MINUTES)
    values = fleet.day_values(d, day)
    samples = [Sample(**s) for s in fleet.samples_at(values, i)]
    source = ("ssh", "snmp", "agent")[serial % 3]
    outputs = {}
    if raw and source == "ssh":
        for k, cmd in enumerate(RAW_COMMANDS):
            lines = [f"{cmd} line {n}: " + "x" * (20 + (n * 7 + k) % 50) for n in range(60)]
            outputs[cmd] = "\n".join(lines)
    elif raw and source == "snmp":
        oids = [f"1.3.6.1.4.1.2011.2.235.1.1.{n}.0 = INTEGER: {n % 7}" for n in range(40)]
        outputs["get"] = "\n".join(oids)
    return Observation(
        id=f"tpl-{serial}-{at.timestamp():.0f}",
        device=device,
        source=source,
        time=at,
        samples=samples,
        raw=outputs,
        meta={"inspection": "health"},
    )


def _alarm(ctx: DeviceContext, level: Level, at: datetime, serial: int, obs: str) -> Alarm:
    rule, title, sample, value = RULES[level]
    device = ctx.device.name
    labels = {"mountpoint": "/data"} if sample == "filesystem_usage_ratio" else {}
    return Alarm(
        fingerprint=f"{rule}:{device}:{serial}",
        device=device,
        level=level,
        rule=rule,
        title=f"{device} {title}",
        description=f"{title}：规则 {rule} 连续 3 次触发",
        labels={"rule_group": "health", **labels},
        evidence=[Sample(name=sample, labels=labels, value=value)],
        observed_at=at,
        observation_id=obs,
    )


def _live(
    store: Store,
    work: Workflow,
    clock: FrozenClock,
    ctx: DeviceContext,
    level: Level,
    plan: list[Step],
    t0: datetime,
    serial: int,
) -> int:
    device = ctx.device.name
    engineer = Actor(ctx.site.engineers[0].name, Role.engineer)
    customer = Actor(
        ctx.contract.customer_contact.name,
        Role.customer,  # type: ignore[union-attr]
        ctx.customer.name,
    )
    with store.transaction() as tx:
        for k in range(5):  # the snapshot's recent inspections, the last with raw output
            obs = _observation(device, t0 - (4 - k) * MIN, serial, raw=k == 4)
            tx.insert_observation(obs, True, obs.time)
            tx.keep_raw(obs)
        alarm = _alarm(ctx, level, t0, serial, obs.id)
        opened = apply_alarms(tx, [alarm], [], {device: ctx}, t0).opened[0]
    number = opened.number
    timeline = [(m, s, b) for m, s, b in plan] + [(m, "probe", None) for m in PROBES]
    policy = ClockPolicy.of(ctx)
    for minutes, step, body in sorted(timeline, key=lambda x: (x[0], x[1] == "probe")):
        at = t0 + minutes * MIN
        clock.set(at)
        if step == "probe":
            with store.transaction() as tx:
                ticket = tx.ticket_for_update(opened.id)
                if ticket is not None and ticket.status.value not in ("resolved", "closed"):
                    escalate(tx, ticket, policy, Silent(), at)
        elif step in ("recover", "recur"):
            again = _alarm(ctx, level, at, serial, f"tpl-{serial}-{minutes}")
            with store.transaction() as tx:
                if step == "recover":
                    apply_alarms(tx, [], [again], {device: ctx}, at)
                else:
                    apply_alarms(tx, [again], [], {device: ctx}, at)
        elif step == "signoff":
            work.step(
                number,
                "signoff",
                steps.Signoff(name=customer.name, satisfaction=body, opinion="处理及时"),
                customer,
            )
            current = store.get_ticket(number)
            if current is not None and current.status.value == "resolved":
                work.step(number, "close", steps.Close(), engineer)
        else:
            work.step(number, step, body, engineer)
    return opened.id


def _read(
    store: Store,
    name: str,
    level: Level,
    calendar: bool,
    tid: int,
    device: str,
    engineers: tuple[str, ...],
) -> Template:
    with store.read_session() as s:
        ticket = dict(
            s.execute(select(TicketRow.__table__).where(TicketRow.id == tid)).one()._mapping
        )
        events = [
            dict(r._mapping)
            for r in s.execute(
                select(TicketEventRow.__table__)
                .where(TicketEventRow.ticket_id == tid)
                .order_by(TicketEventRow.id)
            )
        ]
        escalations = [
            dict(r._mapping)
            for r in s.execute(
                select(EscalationRow.__table__).where(EscalationRow.ticket_id == tid)
            )
        ]
        parts = [
            dict(r._mapping)
            for r in s.execute(select(PartUseRow.__table__).where(PartUseRow.ticket_id == tid))
        ]
    return Template(name, level, calendar, ticket, events, escalations, parts, device, engineers)


# --- copies ------------------------------------------------------------------------------

_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


def _shift(value: Any, delta: timedelta, names: dict[str, str]) -> Any:
    if isinstance(value, datetime):
        return value + delta
    if isinstance(value, str):
        if _ISO.match(value):
            return (datetime.fromisoformat(value) + delta).isoformat()
        for old, new in names.items():
            if old in value:
                value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _shift(v, delta, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta, names) for v in value]
    return value


@dataclass
class Batch:
    tickets: list[dict[str, Any]]
    events: list[dict[str, Any]]
    escalations: list[dict[str, Any]]
    parts: list[dict[str, Any]]


def copies(
    templates: list[Template],
    inventory: Inventory,
    devices: list[str],
    count: int,
    start: datetime,
    end: datetime,
    seed: int,
    first_id: int = 1,
) -> Batch:
    """``count`` tickets on ``devices`` detected in [start, end), copied from templates."""
    rng = random.Random(seed)
    contexts = inventory.device_index()
    by_kind: dict[tuple[bool, Level, str], list[Template]] = {}
    for t in templates:
        by_kind.setdefault((t.calendar, t.level, t.name), []).append(t)
    weights = lifecycles("x")
    names = list(weights)
    life_w = [weights[n][0] for n in names]
    levels = list(LEVEL_WEIGHTS)
    level_w = [LEVEL_WEIGHTS[lv] for lv in levels]
    batch = Batch([], [], [], [])
    event_id = first_id * 40
    ticket_id = first_id
    weeks = int((end - start) / WEEK) + 2
    monday = start.date() - timedelta(days=start.weekday() + 7)
    first_monday = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    while len(batch.tickets) < count:
        device = rng.choice(devices)
        ctx = contexts[device]
        calendar = ctx.contract.calendar is not None
        level = rng.choices(levels, level_w)[0]
        life = rng.choices(names, life_w)[0]
        template = rng.choice(by_kind[(calendar, level, life)])
        week = rng.randrange(weeks)
        delta = (first_monday - TEMPLATE_WEEK) + week * WEEK + rng.randrange(-20, 20) * MIN
        detected = template.ticket["detected_at"] + delta
        if not start <= detected < end:
            continue
        engineers = [e.name for e in ctx.site.engineers] or ["工程师0"]
        rename = {template.device: device, "工程师0": engineers[0], "工程师1": engineers[-1]}
        row = _shift(template.ticket, delta, rename)
        row.update(
            id=ticket_id,
            number=f"WB-{detected.year}-{ticket_id:06d}",
            fingerprint=f"{template.ticket['rule']}:{device}:{ticket_id}",
            customer=ctx.customer.name,
            contract=ctx.contract.id,
            site=ctx.site.name,
            site_hq=ctx.site.hq,
            timezone=ctx.site.timezone,
            device=device,
        )
        batch.tickets.append(row)
        for ev in template.events:
            event = _shift(ev, delta, rename)
            event.update(id=event_id, ticket_id=ticket_id)
            event_id += 1
            batch.events.append(event)
        for esc in template.escalations:
            row = _shift(esc, delta, rename)
            row.pop("id", None)
            row["ticket_id"] = ticket_id
            batch.escalations.append(row)
        for use in template.parts:
            row = _shift(use, delta, rename)
            row.pop("id", None)
            row.update(ticket_id=ticket_id, device=device)
            batch.parts.append(row)
        ticket_id += 1
    return batch


def write(url: str, batch: Batch) -> None:
    """Insert the copies (SQLAlchemy Core executemany, in chunks)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table, rows in (
                (TicketRow, batch.tickets),
                (TicketEventRow, batch.events),
                (EscalationRow, batch.escalations),
                (PartUseRow, batch.parts),
            ):
                for i in range(0, len(rows), 5000):
                    conn.execute(insert(table.__table__), rows[i : i + 5000])
    finally:
        engine.dispose()
