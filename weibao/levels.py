"""Fault levels I-IV, defined once and imported everywhere.

The level decides the SLA clocks a ticket runs under, so the defaults here are the
contract terms of SPEC.md; a contract in the inventory may override any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


@dataclass(frozen=True)
class SlaTerms:
    """Due times of the three clocks, measured from the fault's detection."""

    response: timedelta
    onsite_hq: timedelta
    onsite_remote: timedelta
    resolve: timedelta

    def onsite(self, hq: bool) -> timedelta:
        return self.onsite_hq if hq else self.onsite_remote


class Level(StrEnum):
    """A fault level; the value is the Roman numeral used in files and the API."""

    I = "I"  # noqa: E741 - the contracts call it level I
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def rank(self) -> int:
        """1 for the most severe (I), 4 for an advisory (IV)."""
        return _RANK[self]

    @property
    def label_zh(self) -> str:
        return _INFO[self][0]

    @property
    def label_en(self) -> str:
        return _INFO[self][1]

    @property
    def colour(self) -> str:
        return _INFO[self][2]

    def is_worse_than(self, other: Level) -> bool:
        return self.rank < other.rank

    @classmethod
    def parse(cls, text: str | int) -> Level:
        """Accept ``"II"``, ``"ii"``, ``2`` or ``"2"``; raise ValueError naming the choices."""
        raw = str(text).strip().upper()
        by_number = {"1": cls.I, "2": cls.II, "3": cls.III, "4": cls.IV}
        if raw in by_number:
            return by_number[raw]
        try:
            return cls(raw)
        except ValueError:
            raise ValueError(f"unknown fault level {text!r}: use one of I, II, III, IV") from None


_RANK = {Level.I: 1, Level.II: 2, Level.III: 3, Level.IV: 4}

_INFO = {
    Level.I: (
        "一级：系统崩溃、业务停止或数据丢失",
        "critical: system down, business stopped",
        "#c62828",
    ),
    Level.II: (
        "二级：部件故障或性能下降，业务仍运行",
        "major: component failed or degraded",
        "#ef6c00",
    ),
    Level.III: (
        "三级：系统报错或告警，不影响业务",
        "minor: errors or warnings, no impact",
        "#f9a825",
    ),
    Level.IV: (
        "四级：咨询、配置、计划性服务",
        "advisory: configuration or planned service",
        "#1565c0",
    ),
}

_MIN = timedelta(minutes=1)
_HOUR = timedelta(hours=1)

DEFAULT_SLA: dict[Level, SlaTerms] = {
    Level.I: SlaTerms(20 * _MIN, 30 * _MIN, 2 * _HOUR, 4 * _HOUR),
    Level.II: SlaTerms(20 * _MIN, 30 * _MIN, 2 * _HOUR, 24 * _HOUR),
    Level.III: SlaTerms(20 * _MIN, 30 * _MIN, 2 * _HOUR, 24 * _HOUR),
    # Level IV has no on-site visit: the second clock is "plan submitted" within 4 h.
    Level.IV: SlaTerms(20 * _MIN, 4 * _HOUR, 4 * _HOUR, 72 * _HOUR),
}
