"""Indexes the rollup job reads by: observations by received time (catch-up), and by
device and time (re-reading one device's hour, and a device's latest observations).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_observations_received_at"), "observations", ["received_at"])
    op.create_index("ix_observations_device_time", "observations", ["device", "time"])


def downgrade() -> None:
    op.drop_index("ix_observations_device_time", table_name="observations")
    op.drop_index(op.f("ix_observations_received_at"), table_name="observations")
