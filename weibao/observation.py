"""What every source reports, and what the rules make of it.

An :class:`Observation` is one inspection of one device by one source; the same sample
names mean the same thing whichever source produced them (see ``docs/observations.md``
and :mod:`weibao.vocabulary`). An :class:`Alarm` is a rule's verdict on a device.
These types cross the wire between agent, collector and desk, so they are pydantic
models with strict shapes.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from weibao.levels import Level

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

RAW_TEXT_LIMIT = 16 * 1024  # characters kept of one raw output
RAW_OUTPUTS_LIMIT = 32  # raw outputs kept per observation
# What one observation may hold; beyond it the desk refuses it (422), naming the limit.
# Documented in docs/observations.md ("Limits"); a 400-port switch fits well inside.
SAMPLES_LIMIT = 10_000  # samples per observation
LABELS_LIMIT = 32  # labels per sample
LABEL_KEY_LIMIT = 100  # characters of a label's name
LABEL_VALUE_LIMIT = 1024  # characters of a label's value
META_ENTRIES_LIMIT = 64
META_KEY_LIMIT = 100
META_VALUE_LIMIT = 4096
ERROR_LIMIT = 2000
# An observation's time must lie between these, whatever the desk's clock says (the desk
# also refuses one ahead of its own clock, see desk.ingest): a clock reset to 1970 or a
# typo of year 9999 cannot be stored, nor turned into due times past datetime's range.
TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)


def storable(text: str, what: str) -> str:
    """``text`` if every database can store it; ValueError naming ``what`` if not.

    PostgreSQL refuses NUL in text, and a lone surrogate (``"\\ud800"`` in JSON) is not
    Unicode at all: neither can be written, so both are refused at the door.
    """
    if "\x00" in text:
        raise ValueError(f"{what} holds a NUL character (code 0), which cannot be stored")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{what} holds a lone surrogate (not valid Unicode): send UTF-8 text"
            ) from None
    return text


def _name_text(text: str, what: str) -> str:
    """An id or a device name: storable and without control characters."""
    storable(text, what)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError(f"{what} holds a control character: names are printable text")
    return text


def _storable_raw(text: str) -> str:
    """Raw output is kept as the device sent it, but NUL and lone surrogates become U+FFFD
    (the database cannot hold them, and refusing would lose the observation)."""
    text = text.replace("\x00", "\ufffd")
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def bounded_raw(raw: dict[str, str]) -> dict[str, str]:
    """Raw outputs cut to size with a visible mark: a huge ``journalctl`` or a 400-port
    switch's walk must not make an observation the desk refuses (and so lose it)."""
    kept: dict[str, str] = {}
    for key, text in list(raw.items())[:RAW_OUTPUTS_LIMIT]:
        if len(text) > RAW_TEXT_LIMIT:
            cut = text.rfind("\n", 0, RAW_TEXT_LIMIT)
            cut = cut if cut > 0 else RAW_TEXT_LIMIT
            text = f"{text[:cut]}\n… ({len(text) - cut} more characters not kept)"
        kept[_storable_raw(key[:100])] = _storable_raw(text)
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


def _plausible(value: datetime) -> datetime:
    # Compared, never converted: 0001-01-01T00:00:00+14:00 has no UTC equivalent.
    if not TIME_MIN <= value < TIME_MAX:
        raise ValueError(
            f"time must lie between {TIME_MIN:%Y-%m-%d} and {TIME_MAX:%Y-%m-%d}: the "
            "source's clock is wrong; set it (chrony, NTP) before sending"
        )
    return value


ObservedTime = Annotated[datetime, AfterValidator(_aware), AfterValidator(_plausible)]


class Sample(BaseModel):
    """One measured value: ``filesystem_usage_ratio{mountpoint="/var"} 0.93``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(max_length=200)
    labels: dict[str, str] = Field(default_factory=dict)
    value: float = Field(description="a finite number: NaN and ±Infinity are refused")

    @field_validator("value")
    @classmethod
    def _check_value(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(
                "value must be a finite number, not NaN or ±Infinity: a source that cannot "
                "measure a value leaves the sample out"
            )
        return value

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        if len(labels) > LABELS_LIMIT:
            raise ValueError(f"{len(labels)} labels; a sample may have at most {LABELS_LIMIT}")
        for key, text in labels.items():
            if not key or len(key) > LABEL_KEY_LIMIT:
                raise ValueError(f"a label name must have 1 to {LABEL_KEY_LIMIT} characters")
            if len(text) > LABEL_VALUE_LIMIT:
                raise ValueError(
                    f"a label value has {len(text)} characters; at most "
                    f"{LABEL_VALUE_LIMIT} are allowed"
                )
            storable(key, "a label name")
            storable(text, "a label value")
        return labels

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
    time: ObservedTime
    ok: bool = True
    error: str | None = Field(default=None, max_length=ERROR_LIMIT)
    samples: list[Sample] = Field(default_factory=list, max_length=SAMPLES_LIMIT)
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

    @field_validator("id", "device")
    @classmethod
    def _check_name_text(cls, text: str) -> str:
        return _name_text(text, "the id or device name")

    @field_validator("error")
    @classmethod
    def _check_error(cls, error: str | None) -> str | None:
        return None if error is None else storable(error, "error")

    @field_validator("meta")
    @classmethod
    def _check_meta(cls, meta: dict[str, str]) -> dict[str, str]:
        if len(meta) > META_ENTRIES_LIMIT:
            raise ValueError(f"{len(meta)} meta entries; at most {META_ENTRIES_LIMIT} are allowed")
        for key, text in meta.items():
            if not key or len(key) > META_KEY_LIMIT:
                raise ValueError(f"a meta key must have 1 to {META_KEY_LIMIT} characters")
            if len(text) > META_VALUE_LIMIT:
                raise ValueError(
                    f"a meta value has {len(text)} characters; at most "
                    f"{META_VALUE_LIMIT} are allowed"
                )
            storable(key, "a meta key")
            storable(text, "a meta value")
        return meta

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
