"""Scheduled report deliveries, claimed once per kind, scope and period.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("period", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_deliveries")),
    )
    op.create_index(
        "uq_report_deliveries_claim",
        "report_deliveries",
        ["kind", "scope", "period"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("report_deliveries")
