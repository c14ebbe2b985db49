"""Hourly and daily rollups of the series reports need, and the rollup job's mark.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rollup_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("series", sa.String(100), nullable=False),
        sa.Column("labels", sa.String(300), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_count", sa.Integer(), nullable=False),
        sa.Column("service_sum", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("device", "series", "labels", "start", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    _rollup_table("rollups_hourly")
    _rollup_table("rollups_daily")
    op.create_table(
        "rollup_marks",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("upto", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_marks")),
    )


def downgrade() -> None:
    op.drop_table("rollup_marks")
    op.drop_table("rollups_daily")
    op.drop_table("rollups_hourly")
