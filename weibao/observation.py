"""What every source reports, and what the rules make of it.

An :class:`Observation` is one inspection of one device by one source; the same sample
names mean the same thing whichever source produced them (see ``docs/observations.md``
and :mod:`weibao.vocabulary`). An :class:`Alarm` is a rule's verdict on a device.
These types cross the wire between agent, collector and desk, so they are pydantic
models with strict shapes.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from weibao.levels import Level

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

RAW_TEXT_LIMIT = 16 * 1024  # characters kept of one raw output
RAW_OUTPUTS_LIMIT = 32  # raw outputs kept per observation


def bounded_raw(raw: dict[str, str]) -> dict[str, str]:
    """Raw outputs cut to size with a visible mark: a huge ``journalctl`` or a 400-port
    switch's walk must not make an observation the desk refuses (and so lose it)."""
    kept: dict[str, str] = {}
    for key, text in list(raw.items())[:RAW_OUTPUTS_LIMIT]:
        if len(text) > RAW_TEXT_LIMIT:
            cut = text.rfind("\n", 0, RAW_TEXT_LIMIT)
            cut = cut if cut > 0 else RAW_TEXT_LIMIT
            text = f"{text[:cut]}\n… ({len(text) - cut} more characters not kept)"
        kept[key[:100]] = text
    return kept


class Source(StrEnum):
    agent = "agent"
    snmp = "snmp"
    ssh = "ssh"
    trap = "trap"
    alertmanager = "alertmanager"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("time must carry a UTC offset (RFC 3339), e.g. 2026-11-21T08:00:00Z")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Sample(BaseModel):
    """One measured value: ``filesystem_usage_ratio{mountpoint="/var"} 0.93``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(max_length=200)
    labels: dict[str, str] = Field(default_factory=dict)
    value: float

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(
                f"sample name {name!r} must be letters, digits and '_' (Prometheus style)"
            )
        return name

    def label(self, key: str, default: str = "") -> str:
        return self.labels.get(key, default)


class Observation(BaseModel):
    """One inspection of one device by one source.

    ``id`` is unique per observation so the desk can store each exactly once even when an
    agent's spool replays it; ``ok`` false with ``error`` set means the inspection itself
    failed (the device may still be up: a wrong SNMP community is not an outage).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=8, max_length=64)
    device: str = Field(min_length=1, max_length=200)
    source: Source
    time: AwareDatetime
    ok: bool = True
    error: str | None = Field(default=None, max_length=2000)
    samples: list[Sample] = Field(default_factory=list)
    meta: dict[str, str] = Field(
        default_factory=dict,
        description="Context that is not a measurement: agent identity, profile used, ...",
    )
    raw: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "What the device answered, verbatim (SSH command output, SNMP values), for the"
            " engineer: the desk keeps the latest per device and source and copies it into"
            " the snapshot of a ticket the observation opens"
        ),
    )

    @field_validator("raw")
    @classmethod
    def _bound_raw(cls, raw: dict[str, str]) -> dict[str, str]:
        return bounded_raw(raw)

    def values(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.name == name]

    def value(self, name: str, **labels: str) -> float | None:
        """The value of the first sample called ``name`` whose labels include ``labels``."""
        for sample in self.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
        return None


class Alarm(BaseModel):
    """A rule's verdict: this fault, on this device, at this level.

    ``fingerprint`` identifies the fault across samples (rule, device and the labels that
    tell one disk or interface from another), so the desk opens one ticket per fault,
    not one per sample.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fingerprint: str
    device: str
    level: Level
    rule: str
    title: str
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    evidence: list[Sample] = Field(default_factory=list)
    observed_at: AwareDatetime
    observation_id: str | None = None
