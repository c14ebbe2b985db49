"""The inventory's ``alertmanager:`` section: how an Alertmanager alert finds its device
and its fault level.

Alerts from Prometheus are already classified by whoever wrote the alerting rules; the
desk only needs to know which labels name the device and how a severity becomes a level.
Every key has a default that fits the usual Prometheus conventions, so most inventories
leave the section out. This module imports nothing from :mod:`weibao.inventory.model`,
so the model can import it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from weibao.levels import Level

DEFAULT_DEVICE_LABELS = ("device", "instance", "host")
DEFAULT_SEVERITIES: Mapping[str, Level] = {
    "critical": Level.I,
    "major": Level.II,
    "error": Level.II,
    "warning": Level.III,
    "info": Level.IV,
    "none": Level.IV,
}
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _to_level(value: Any) -> Level:
    if isinstance(value, Level):
        return value
    try:
        return Level.parse(value)
    except ValueError:
        raise ValueError(
            f"unknown fault level {value!r}: write I, II, III or IV (I is the most severe)"
        ) from None


def _label_name(value: str) -> str:
    if not _LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a Prometheus label name: letters, digits and '_', "
            "not starting with a digit (e.g. instance)"
        )
    return value


LevelValue = Annotated[Level, BeforeValidator(_to_level)]
LabelName = Annotated[str, AfterValidator(_label_name)]


def _folded_keys(value: Any) -> Any:
    # Severity values are compared case-insensitively: `Critical` and `critical` are one.
    if isinstance(value, Mapping):
        return {str(k).strip().lower(): v for k, v in value.items()}
    return value


class AlertmanagerSettings(BaseModel):
    """Mapping of Alertmanager alerts onto devices and fault levels (docs/alertmanager.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_labels: list[LabelName] = Field(
        default_factory=lambda: list(DEFAULT_DEVICE_LABELS),
        min_length=1,
        description="labels tried in order; each value is matched against device names, "
        "then addresses, with a ':port' suffix ignored",
    )
    severity_label: LabelName = "severity"
    severities: Annotated[dict[str, LevelValue], BeforeValidator(_folded_keys)] = Field(
        default_factory=dict,
        description="severity value -> level, merged over the defaults",
    )
    default_level: LevelValue = Field(
        default=Level.III, description="for an alert whose severity is missing or unknown"
    )
    alertnames: dict[str, LevelValue] = Field(
        default_factory=dict,
        description="alertname -> level; wins over the severity",
    )

    def severity_levels(self) -> dict[str, Level]:
        """The defaults with this inventory's own entries on top."""
        return {**DEFAULT_SEVERITIES, **self.severities}

    def level_for(self, labels: Mapping[str, str]) -> Level:
        """The fault level of an alert with these labels."""
        override = self.alertnames.get(labels.get("alertname", ""))
        if override is not None:
            return override
        severity = labels.get(self.severity_label, "").strip().lower()
        return self.severity_levels().get(severity, self.default_level)
