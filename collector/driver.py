"""The interface every inspection source implements, and the registry of drivers by name.

A driver inspects one device and always returns an :class:`InspectionResult`: a device
that refuses, times out or rejects our credentials is a failed result, never an
exception that stops the other devices (nornir's ``Result(failed=True)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from weibao.errors import (
    AuthError,
    ConnectError,
    HostKeyMismatch,
    InspectionError,
    ProtocolError,
    Timeout,
)
from weibao.inventory.model import DeviceContext
from weibao.observation import Observation, Sample, Source


class Depth(StrEnum):
    health = "health"  # the frequent, light check
    full = "full"  # the daily inspection (巡检)


@dataclass(frozen=True)
class InspectionResult:
    device: str
    driver: str
    observation: Observation
    error: InspectionError | None = None
    raw: dict[str, str] = field(default_factory=dict)  # command output kept for the ticket

    @property
    def failed(self) -> bool:
        return self.error is not None


class Driver(Protocol):
    name: str

    async def inspect(self, ctx: DeviceContext, depth: Depth, now: datetime) -> InspectionResult:
        """Inspect one device; translate library errors into weibao.errors at this edge."""
        ...


DriverFactory = Callable[[], Driver]


class DriverRegistry:
    """Drivers by name (``snmp``, ``ssh``, ...); explicit registration, no discovery magic."""

    def __init__(self) -> None:
        self._factories: dict[str, DriverFactory] = {}

    def register(self, name: str, factory: DriverFactory) -> None:
        if name in self._factories:
            raise ValueError(f"driver {name!r} is already registered")
        self._factories[name] = factory

    def create(self, name: str) -> Driver:
        try:
            return self._factories[name]()
        except KeyError:
            known = ", ".join(sorted(self._factories)) or "none"
            raise KeyError(f"no inspection driver {name!r} (registered: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._factories)


_KINDS: tuple[tuple[type[InspectionError], str], ...] = (
    (AuthError, "auth"),
    (Timeout, "timeout"),
    (ConnectError, "connect"),
    (HostKeyMismatch, "host_key"),
    (ProtocolError, "protocol"),
)


def error_kind(error: InspectionError) -> str:
    """The ``meta.error_kind`` word for an error; ``config`` for our own refusals."""
    for kind, word in _KINDS:
        if isinstance(error, kind):
            return word
    return "config"


def failed_result(
    device: str,
    driver: str,
    source: Source,
    now: datetime,
    error: InspectionError,
    reached: bool = False,
) -> InspectionResult:
    """The one shape of a failed inspection, whoever made it: ``up`` 0 (or 1 when the
    device answered but the inspection still failed), the reason, ``meta.error_kind``.
    Messages name references and fingerprints, never secrets."""
    observation = Observation(
        device=device,
        source=source,
        time=now,
        ok=False,
        error=str(error)[:2000],
        samples=[Sample(name="up", value=1.0 if reached else 0.0)],
        meta={"error_kind": error_kind(error)},
    )
    return InspectionResult(device=device, driver=driver, observation=observation, error=error)
