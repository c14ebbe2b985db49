"""Rule test files (``weibao rules test``): their shape, and observations from series.

In the spirit of ``promtool test rules``: a file names the rules under test, an
inventory (inline, a path, or a ``devices:`` shorthand), and tests. Each test gives
sample series over time in promtool's expanding notation and the alarms expected at
given times. See docs/rules.md for an example.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from rules.schema import Duration, LevelValue, Strict
from weibao.durations import parse_duration
from weibao.observation import Observation, Sample, Source

DEFAULT_START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
_STEP = re.compile(r"^(?P<a>[-+]?\d+(?:\.\d+)?)(?:(?P<op>[-+])(?P<b>\d+(?:\.\d+)?))?x(?P<n>\d+)$")
_SAMPLE = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:\{(.*)\})?\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def expand_values(text: str | float | int) -> list[float | None]:
    """promtool's notation: ``1 _ 0x3 1+1x2 _x2`` is 1, -, 0, 0, 0, 0, 1, 2, 3, -, -.

    ``axN`` is N+1 values, ``a+bxN`` counts from a in N steps of b, ``_`` is no sample
    and ``_xN`` is N of them. Raises ValueError naming the bad token.
    """
    out: list[float | None] = []
    for token in str(text).split():
        if token == "_":
            out.append(None)
        elif token.startswith("_x") and token[2:].isdigit():
            out.extend([None] * int(token[2:]))
        elif (match := _STEP.match(token)) is not None:
            a, n = float(match["a"]), int(match["n"])
            b = float(match["b"] or 0) * (-1 if match["op"] == "-" else 1)
            out.extend(a + i * b for i in range(n + 1))
        else:
            try:
                out.append(float(token))
            except ValueError:
                raise ValueError(
                    f"{token!r} is not a value: write numbers, _ (no sample), "
                    "AxN (A repeated N+1 times), A+BxN or _xN"
                ) from None
    return out


def parse_sample_spec(text: str) -> tuple[str, dict[str, str]]:
    """``filesystem_usage_ratio{mountpoint="/var"}`` into a name and labels."""
    match = _SAMPLE.match(text)
    if match is None:
        raise ValueError(f'{text!r} is not a sample: write name or name{{label="value"}}')
    name, inner = match.group(1), match.group(2) or ""
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(inner.strip()):
        label = _LABEL.match(inner, pos)
        if label is None:
            raise ValueError(f'cannot read the labels of {text!r}: write {{name="value", ...}}')
        labels[label.group(1)] = label.group(2).replace('\\"', '"')
        pos = label.end()
    return name, labels


class SeriesSpec(Strict):
    """Values of one sample of one device over the test's steps.

    Without ``sample`` the series only says when the source reported at all (an
    observation with no samples): the way to test silence.
    """

    device: str
    source: Literal["agent", "snmp", "ssh", "trap", "alertmanager"] = "agent"
    sample: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    values: str

    @field_validator("values", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    @field_validator("values")
    @classmethod
    def _expands(cls, value: str) -> str:
        expand_values(value)
        return value

    @field_validator("sample")
    @classmethod
    def _sample(cls, value: str | None) -> str | None:
        if value is not None:
            parse_sample_spec(value)
        return value

    def steps(self) -> list[float | None]:
        return expand_values(self.values)

    def name_and_labels(self) -> tuple[str, dict[str, str]] | None:
        if self.sample is None:
            return None
        name, labels = parse_sample_spec(self.sample)
        return name, {**labels, **self.labels}


class ExpectedAlarm(Strict):
    rule: str
    device: str | None = None
    level: LevelValue | None = None
    labels: dict[str, str] = Field(default_factory=dict, description="must all be present")
    title: str | None = None


class Expectation(Strict):
    at: str = Field(description="offset from start (6m) or an RFC 3339 time")
    firing: list[ExpectedAlarm] | None = None
    suppressed: list[ExpectedAlarm] | None = None
    cleared: list[ExpectedAlarm] | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value) if isinstance(value, int | float) else value

    @field_validator("at")
    @classmethod
    def _time(cls, value: str) -> str:
        offset_or_time(value, DEFAULT_START)
        return value

    @model_validator(mode="after")
    def _something(self) -> Expectation:
        if self.firing is None and self.suppressed is None and self.cleared is None:
            raise ValueError("an expectation needs firing:, suppressed: or cleared: (may be [])")
        return self


class RuleTestCase(Strict):
    name: str = Field(min_length=1)
    interval: Duration | None = None
    only: list[str] | None = Field(default=None, description="compare only these rules")
    series: list[SeriesSpec] = Field(default_factory=list)
    expect: list[Expectation] = Field(min_length=1)


class RuleTestFile(Strict):
    rules: str | None = Field(default=None, description="rules directory, relative to this file")
    inventory: str | dict[str, Any] | None = None
    devices: list[dict[str, Any]] | None = None
    site: dict[str, Any] = Field(default_factory=dict)
    contract: dict[str, Any] = Field(default_factory=dict)
    start: datetime = DEFAULT_START
    interval: Duration = Field(default=timedelta(minutes=1))
    tests: list[RuleTestCase] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_inventory(self) -> RuleTestFile:
        if (self.inventory is None) == (self.devices is None):
            raise ValueError("give the devices under test: either inventory: or devices:")
        if self.start.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-01-05T08:00:00Z")
        return self

    def inventory_data(self) -> dict[str, Any] | None:
        """The ``devices:`` shorthand as a whole inventory: one customer, contract, site."""
        if self.devices is None:
            return None
        contract = {
            "id": "TEST-1",
            "name": "test contract",
            "start": "2020-01-01",
            "end": "2099-12-31",
            "service_manager": {"name": "service manager"},
            **self.contract,
        }
        contract["sites"] = [{"name": "test site", **self.site, "devices": self.devices}]
        return {"customers": [{"name": "test customer", "contracts": [contract]}]}


def _keys(*models: type[Strict]) -> frozenset[str]:
    return frozenset(
        field.alias or name for model in models for name, field in model.model_fields.items()
    )


TEST_KEYS = _keys(SeriesSpec, ExpectedAlarm, Expectation, RuleTestCase, RuleTestFile)


def offset_or_time(text: str, start: datetime) -> datetime:
    """``6m`` after start, or an absolute ``2026-01-05T08:06:00Z``."""
    try:
        return start + parse_duration(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"at: {text!r} is neither an offset (6m) nor a time") from None
    if when.tzinfo is None:
        raise ValueError(f"at: {text!r} needs a UTC offset")
    return when


def observations_at(
    case: RuleTestCase, case_index: int, step: int, when: datetime
) -> list[Observation]:
    """One observation per (device, source) that has a value or a presence at ``step``."""
    grouped: dict[tuple[str, str], list[Sample]] = {}
    for series in case.series:
        values = series.steps()
        if step >= len(values) or values[step] is None:
            continue
        samples = grouped.setdefault((series.device, series.source), [])
        named = series.name_and_labels()
        if named is not None:
            value = values[step]
            assert value is not None
            samples.append(Sample(name=named[0], labels=named[1], value=value))
    return [
        Observation(
            id=f"test-{case_index}-{step}-{device}-{source}",
            device=device,
            source=Source(source),
            time=when,
            samples=samples,
        )
        for (device, source), samples in sorted(grouped.items())
    ]
