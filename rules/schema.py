"""The shape of a rule file, as pydantic models that refuse unknown keys.

These models check structure only: which keys, which types, which levels. Meaning
(units against the sample, regular expressions, template fields, no-data rules without a
sample) is checked by :mod:`rules.compiler`, which turns a :class:`RuleSpec` into the
:class:`~rules.model.Rule` the engine runs. Comparison operands stay ``Any`` here on
purpose: their unit depends on the rule's sample, which only the compiler knows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from weibao.durations import parse_duration
from weibao.inventory.model import Criticality, DeviceKind
from weibao.levels import Level


def _listify(value: Any) -> Any:
    return (
        [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value
    )


def _to_duration(value: Any) -> timedelta:
    return parse_duration(value)


def _to_level(value: Any) -> Level:
    if isinstance(value, Level):
        return value
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(f"unknown fault level {value!r}: use one of I, II, III, IV")
    return Level.parse(value)


Duration = Annotated[timedelta, BeforeValidator(_to_duration)]
LevelValue = Annotated[Level, BeforeValidator(_to_level)]
Names = Annotated[list[str], BeforeValidator(_listify)]
SourceName = Literal["agent", "snmp", "ssh", "trap", "alertmanager", "inventory"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Comparison(Strict):
    """Numeric tests, all of which must hold; ``value: 0`` is short for ``value: {eq: 0}``."""

    eq: Any = None
    ne: Any = None
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return data if isinstance(data, dict) else {"eq": data}

    @model_validator(mode="after")
    def _some(self) -> Comparison:
        if not self.tests():
            raise ValueError("a comparison needs an operator: eq, ne, gt, gte, lt, lte, in, not_in")
        return self

    def tests(self) -> list[tuple[str, Any]]:
        ops = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in")
        values = (self.eq, self.ne, self.gt, self.gte, self.lt, self.lte, self.in_, self.not_in)
        return [(op, v) for op, v in zip(ops, values, strict=True) if v is not None]


class LabelMatch(Strict):
    """Tests on one label's text; ``state: failed`` is short for ``state: {eq: failed}``."""

    eq: str | None = None
    ne: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    matches: str | None = Field(default=None, description="regular expression, searched")
    not_matches: str | None = None
    present: bool | None = Field(default=None, description="the label is there and not empty")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"eq": data} if isinstance(data, str) else data


class Selector(Strict):
    """Which devices (and sources) a rule or a level case is about; lists mean any of."""

    kind: Annotated[list[DeviceKind], BeforeValidator(_listify)] | None = None
    vendor: Names | None = None
    model: Names | None = None
    role: Names | None = None
    criticality: Annotated[list[Criticality], BeforeValidator(_listify)] | None = None
    tags: Names | None = Field(default=None, description="the device has any of these tags")
    source: Annotated[list[SourceName], BeforeValidator(_listify)] | None = None
    name: Names | None = Field(default=None, description="device names")


class Join(Strict):
    """A test on another sample of the same observation with the same ``by`` labels.

    (``by``, not ``on``: YAML 1.1 reads an unquoted ``on`` key as the boolean true.)
    """

    sample: str
    by: Names = Field(default_factory=list)
    value: Comparison | None = None
    labels: dict[str, LabelMatch] | None = None
    missing: bool = Field(default=False, description="result when there is no such sample")


class ConditionSpec(Strict):
    """A condition as data; several keys in one mapping must all hold."""

    value: Comparison | None = None
    change: Comparison | None = Field(default=None, description="value minus the previous one")
    rate: Comparison | None = Field(default=None, description="change per second")
    until: Comparison | None = Field(default=None, description="timestamp value minus now")
    labels: dict[str, LabelMatch] | None = None
    device: Selector | None = None
    join: Join | None = None
    no_data: Duration | None = None
    all_: list[ConditionSpec] | None = Field(default=None, alias="all")
    any_: list[ConditionSpec] | None = Field(default=None, alias="any")
    not_: ConditionSpec | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _some(self) -> ConditionSpec:
        if not self.model_fields_set:
            raise ValueError(
                "an empty condition: use value, change, rate, until, labels, device, join, "
                "no_data, all, any or not"
            )
        return self


class LevelCase(Strict):
    when: ConditionSpec
    level: LevelValue


class FlappingSpec(Strict):
    """More than ``transitions`` fire/clear changes within ``window`` = flapping."""

    enabled: bool = True
    transitions: int = Field(default=4, ge=1, le=100)
    window: Duration = Field(default=timedelta(minutes=30))

    @model_validator(mode="before")
    @classmethod
    def _off(cls, data: Any) -> Any:
        return {"enabled": False} if data is False else data


class RuleSpec(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")
    summary: str = Field(min_length=3, max_length=200, description="one line, for lists")
    sample: str | None = Field(default=None, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    match: Selector = Field(default_factory=Selector)
    where: dict[str, LabelMatch] | None = None
    condition: ConditionSpec
    for_: Duration = Field(default=timedelta(0), alias="for")
    clear: ConditionSpec | None = None
    keep_firing_for: Duration = Field(default=timedelta(0))
    level: LevelValue
    levels: list[LevelCase] = Field(default_factory=list)
    fingerprint: Names = Field(default_factory=list)
    fault: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{1,62}$",
        description="another rule's id: this rule reports the same fault as that one "
        "(one ticket, whichever fires first; cleared when neither fires)",
    )
    labels: dict[str, str] = Field(default_factory=dict)
    title: str = Field(min_length=3, max_length=300)
    description: str = ""
    knowledge: str = Field(min_length=20, description="what the engineer checks first")
    topology: Literal["none", "down", "cut_off"] = "none"
    maintenance: Literal["while_open", "when_fired"] = Field(
        default="while_open",
        description="when_fired: judged once, for events such as a reboot",
    )
    flapping: FlappingSpec | None = None
    collapse: Literal["none", "site"] = Field(
        default="none",
        description="site: one alarm when every device of a site the rule watches is active",
    )


class Settings(Strict):
    flapping: FlappingSpec = Field(default_factory=FlappingSpec)


class RuleFile(Strict):
    settings: Settings | None = None
    rules: list[RuleSpec] = Field(default_factory=list)


ConditionSpec.model_rebuild()

# Every key a rule file may use, for "did you mean" on an unknown key.
ALL_KEYS: frozenset[str] = frozenset(
    (field.alias or name)
    for model in (
        Comparison,
        LabelMatch,
        Selector,
        Join,
        ConditionSpec,
        LevelCase,
        FlappingSpec,
        RuleSpec,
        Settings,
        RuleFile,
    )
    for name, field in model.model_fields.items()
)
