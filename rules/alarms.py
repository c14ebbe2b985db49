"""Alarm text and shape: fingerprints, rendered templates, evidence.

An alarm is kept in the engine state as JSON (``Alarm.model_dump(mode="json")``) and
rebuilt as an :class:`~weibao.observation.Alarm` when it is reported, with the labels
that say how it stands now (flapping, suppressed and by what, its dependants).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.conditions import Facts
from rules.model import Rule
from rules.templates import format_number
from weibao.durations import format_duration
from weibao.levels import Level
from weibao.observation import Alarm, Sample

KNOWLEDGE_HEADING = "处理建议 / What to check"
MAX_DEPENDANTS_LISTED = 20
# Evidence on a root's down alarm naming an active alarm held under it
# (``suppressed_alarm{device="acc1",alarm="device_unreachable:acc1"} 1``).
SUPPRESSED_SAMPLE = "suppressed_alarm"


def fingerprint(rule: Rule, device: str, labels: Mapping[str, str]) -> str:
    """``filesystem_full:srv1{mountpoint=/var}``: rule, device and the telling labels.

    The key of the rule's series in the engine; its alarms carry :func:`fault_fingerprint`.
    """
    return _key(rule.id, device, labels)


def fault_fingerprint(rule: Rule, device: str, labels: Mapping[str, str]) -> str:
    """The fingerprint the desk keeps one ticket per: the series key, but with the
    fault's name, so rules reporting one fault (``fault:``) share it."""
    return _key(rule.fault_id, device, labels)


def _key(name: str, device: str, labels: Mapping[str, str]) -> str:
    if not labels:
        return f"{name}:{device}"
    inner = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
    return f"{name}:{device}{{{inner}}}"


def device_of(fp: str) -> str:
    """The device of a fingerprint (device names have no ':' and no '{')."""
    return fp.split(":", 1)[1].split("{", 1)[0]


def fingerprint_labels(rule: Rule, labels: Mapping[str, str]) -> dict[str, str]:
    return {name: labels.get(name, "") for name in rule.fingerprint}


def template_values(rule: Rule, facts: Facts, level: Level) -> dict[str, str]:
    ctx = facts.ctx
    device = ctx.device
    values = {
        "device": device.name,
        "rule": rule.id,
        "level": level.value,
        "value": format_number(facts.value),
        "source": facts.source,
        "kind": device.kind.value,
        "vendor": device.vendor or "",
        "model": device.model or "",
        "role": device.role or "",
        "site": ctx.site.name,
        "customer": ctx.customer.name,
        "contract": ctx.contract.id,
        "for": format_duration(timedelta(seconds=rule.for_seconds)),
        "until": format_number(facts.value - facts.t),
    }
    values.update({f"labels.{k}": v for k, v in facts.labels.items()})
    values.update({f"meta.{k}": v for k, v in (facts.meta or {}).items()})
    return values


def build_alarm(
    rule: Rule,
    fp: str,
    facts: Facts,
    level: Level,
    evidence: Sequence[Sample],
    observation_id: str | None,
) -> dict[str, Any]:
    """The alarm as stored in state: JSON-ready, without status labels or knowledge.

    The knowledge text is added when the alarm is reported (:func:`to_alarm`), so the
    state the desk persists on every ingest stays small.
    """
    values = template_values(rule, facts, level)
    tz = ZoneInfo(facts.ctx.site.timezone)
    telling = fingerprint_labels(rule, facts.labels)
    labels = {**rule.labels, **telling}
    return {
        "fingerprint": fault_fingerprint(rule, facts.ctx.device.name, telling)
        if rule.fault
        else fp,
        "device": facts.ctx.device.name,
        "level": level.value,
        "rule": rule.id,
        "title": rule.title.render(values, tz).strip(),
        "description": rule.description.render(values, tz).strip(),
        "labels": labels,
        "evidence": [s.model_dump(mode="json") for s in evidence],
        "observed_at": datetime.fromtimestamp(facts.t, UTC).isoformat(),
        "observation_id": observation_id,
    }


def to_alarm(
    data: Mapping[str, Any],
    knowledge: str,
    extra_labels: Mapping[str, str] | None = None,
    extra_evidence: Sequence[Sample] = (),
    observed_at: float | None = None,
) -> Alarm:
    """Rebuild the reportable Alarm with the rule's knowledge, status labels and evidence."""
    fields = dict(data)
    text = str(data.get("description", ""))
    fields["description"] = f"{text}\n\n{KNOWLEDGE_HEADING}:\n{knowledge}" if text else knowledge
    if extra_labels:
        fields["labels"] = {**data["labels"], **extra_labels}
    if extra_evidence:
        fields["evidence"] = [*data["evidence"], *(s.model_dump() for s in extra_evidence)]
    if observed_at is not None:
        fields["observed_at"] = datetime.fromtimestamp(observed_at, UTC).isoformat()
    return Alarm.model_validate(fields)


def dependants_labels(names: Sequence[str]) -> dict[str, str]:
    """Labels on a root alarm naming the devices cut off behind it."""
    if not names:
        return {}
    shown = ", ".join(names[:MAX_DEPENDANTS_LISTED])
    if len(names) > MAX_DEPENDANTS_LISTED:
        shown += f" and {len(names) - MAX_DEPENDANTS_LISTED} more"
    return {"dependants": shown, "dependants_count": str(len(names))}
