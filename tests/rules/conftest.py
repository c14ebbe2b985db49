"""Helpers shared by the rule tests: a small inventory and observation builders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from weibao.inventory.model import Inventory
from weibao.observation import Observation, Sample, Source

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def make_inventory(devices: Iterable[Mapping[str, Any]], **site: Any) -> Inventory:
    contract = {
        "id": "C-1",
        "name": "contract",
        "start": "2025-01-01",
        "end": "2099-12-31",
        "service_manager": {"name": "manager"},
        "sites": [{"name": "site", **site, "devices": list(devices)}],
    }
    return Inventory.model_validate({"customers": [{"name": "customer", "contracts": [contract]}]})


def observe(
    device: str,
    minute: float,
    source: str = "agent",
    **values: float,
) -> Observation:
    """An observation at T0 + minute with plain samples ``name=value``."""
    return Observation(
        id=f"obs-{device}-{source}-{minute}",
        device=device,
        source=Source(source),
        time=T0 + timedelta(minutes=minute),
        samples=[Sample(name=name, value=value) for name, value in values.items()],
    )


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def write_rules(directory: Path, files: Mapping[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return tmp_path / "rules"
