"""The rule engine's memory per device (``engine_devices``) instead of one JSON row for
the whole fleet (``engine_state``), which every batch read, rewrote and locked
(issue #13 item 2). The old row is carried over device by device, so pending ``for:``
timers and firing alarms survive the upgrade.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOPOLOGY = sa.text("topology IS NOT NULL")
# Rules whose series topology reads (the default pack's); others are found again as soon
# as their device is next observed.
_TOPOLOGY_RULES = ("device_unreachable", "agent_silent", "collector_silent")


def upgrade() -> None:
    table = op.create_table(
        "engine_devices",
        sa.Column("device", sa.String(length=200), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("topology", sa.Text(), nullable=True),
        sa.Column("sweep_after", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device", name=op.f("pk_engine_devices")),
    )
    op.create_index(
        "ix_engine_devices_topology",
        "engine_devices",
        ["device"],
        sqlite_where=_TOPOLOGY,
        postgresql_where=_TOPOLOGY,
    )
    old = op.get_bind().execute(sa.text("SELECT data FROM engine_state WHERE name = 'rules'"))
    text = old.scalar()
    if text:
        rows = _per_device(json.loads(text))
        if rows:
            op.bulk_insert(table, rows)
    op.drop_table("engine_state")


def _per_device(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Version 2's sections keyed ``device|...`` regrouped by device (version 3)."""
    if data.get("version") != 2:
        return []
    memory: dict[str, dict[str, Any]] = {}
    for device, series in data.get("series", {}).items():
        memory.setdefault(device, {})["series"] = series
    for key, t in data.get("seen", {}).items():
        device, source = key.split("|", 1)
        memory.setdefault(device, {}).setdefault("seen", {})[source] = t
    for key, value in data.get("prev", {}).items():
        device, rest = key.split("|", 1)
        memory.setdefault(device, {}).setdefault("prev", {})[rest] = value
    now = datetime.now(UTC)
    rows = []
    for device, chunk in sorted(memory.items()):
        topology = {
            fp: [e["rule"], device, e["phase"], bool(e.get("raw")), e.get("t", 0.0)]
            for fp, e in chunk.get("series", {}).items()
            if e["rule"] in _TOPOLOGY_RULES and e.get("phase", "idle") != "idle"
        }
        rows.append(
            {
                "device": device,
                "data": json.dumps(chunk, sort_keys=True, separators=(",", ":")),
                "topology": json.dumps(topology, sort_keys=True) if topology else None,
                # Swept at the desk's first round: it computes the real time again.
                "sweep_after": 0.0,
                "updated_at": now,
            }
        )
    return rows


def downgrade() -> None:
    op.create_table(
        "engine_state",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_engine_state")),
    )
    op.drop_index("ix_engine_devices_topology", table_name="engine_devices")
    op.drop_table("engine_devices")
