"""Observations as the agent writes them: plain JSON-ready dicts, shaped exactly as
:class:`weibao.observation.Observation` dumps itself (``model_dump(mode="json")``).

Why not the model itself: pydantic, and building the ``Observation`` model with it, cost
about 15 MiB of resident memory, more than a third of the agent, on every customer
server (``bench/agent/README.md``). The format is still defined once, by
``Observation``: the desk validates every batch with it, and the agent's tests validate
every kind of inspection it makes with it and check that the dump of the validated
model is the very dict the agent wrote.

Pushing and spooling take either form, so the collector hands its pydantic observations
to the same push client and spool.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from weibao.observation import Observation

WireObservation: TypeAlias = dict[str, Any]
WireSample: TypeAlias = dict[str, Any]
SOURCE = "agent"


def sample(name: str, value: float, digits: int = 6, **labels: str) -> WireSample:
    return {"name": name, "labels": labels, "value": round(float(value), digits)}


def observation(
    device: str, when: datetime, samples: Iterable[WireSample], meta: dict[str, str]
) -> WireObservation:
    """A new observation with its own id; a sample that is not a finite number (a bug
    somewhere below) is left out, as JSON cannot carry it."""
    return {
        "id": str(uuid.uuid4()),
        "device": device,
        "source": SOURCE,
        "time": rfc3339(when),
        "ok": True,
        "error": None,
        "samples": [s for s in samples if math.isfinite(s["value"])],
        "meta": meta,
        "raw": {},  # the agent's samples are its own readings: nothing verbatim to keep
    }


def rfc3339(when: datetime) -> str:
    """As pydantic writes an aware time: ISO 8601, UTC as ``Z``."""
    if when.tzinfo is None:
        raise ValueError("an observation's time must carry its UTC offset")
    text = when.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def to_wire(item: Observation | WireObservation) -> WireObservation:
    """The JSON-ready form of an observation the agent built or a pydantic one."""
    if isinstance(item, dict):
        return item
    return item.model_dump(mode="json")
