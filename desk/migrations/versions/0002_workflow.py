"""The engineer's workflow: assignment, recurrences, snapshots, follow-ups on tickets;
escalation claims, the notification outbox, spare parts and device components; the
name of a token's holder.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TICKET_TIMES = ("resolved_at", "signed_off_at", "closed_at", "followup_due_at", "followup_done_at")


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _ticket_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["ticket_id"],
        ["tickets.id"],
        name=op.f(f"fk_{table}_ticket_id_tickets"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("assignee", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column("internal", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch.add_column(
            sa.Column("recurrences", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("related", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch.add_column(
            sa.Column("snapshot", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )
        for name in _TICKET_TIMES:
            batch.add_column(_when(name, nullable=True))
    op.create_index(op.f("ix_tickets_closed_at"), "tickets", ["closed_at"])
    op.create_index(op.f("ix_tickets_followup_due_at"), "tickets", ["followup_due_at"])

    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("name", sa.String(200), nullable=True))

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(20), nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        _when("due"),
        _when("at"),
        _ticket_fk("escalations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    op.create_index(
        "uq_escalations_step", "escalations", ["ticket_id", "clock", "step", "due"], unique=True
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("ticket", sa.String(20), nullable=True),
        sa.Column("notice", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("lease_until", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("created_at"),
        _when("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_status"), "outbox", ["status"])
    op.create_index(op.f("ix_outbox_next_attempt_at"), "outbox", ["next_attempt_at"])

    op.create_table(
        "parts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("part_number", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(200), nullable=True),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("part_number", name=op.f("uq_parts_part_number")),
    )

    op.create_table(
        "part_uses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(200), nullable=False),
        _when("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("part_number", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("from_stock", sa.Boolean(), nullable=False),
        sa.Column("serial_out", sa.String(200), nullable=True),
        sa.Column("serial_in", sa.String(200), nullable=True),
        sa.Column("rma_number", sa.String(100), nullable=True),
        sa.Column("rma_status", sa.String(20), nullable=True),
        _when("rma_updated_at", nullable=True),
        _ticket_fk("part_uses"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_part_uses")),
    )
    op.create_index(op.f("ix_part_uses_ticket_id"), "part_uses", ["ticket_id"])
    op.create_index(op.f("ix_part_uses_device"), "part_uses", ["device"])

    op.create_table(
        "device_components",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("part_number", sa.String(100), nullable=False),
        sa.Column("serial", sa.String(200), nullable=False),
        _when("installed_at"),
        sa.Column("ticket", sa.String(20), nullable=True),
        _when("removed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_components")),
    )
    op.create_index(op.f("ix_device_components_device"), "device_components", ["device"])


def downgrade() -> None:
    op.drop_index(op.f("ix_device_components_device"), table_name="device_components")
    op.drop_table("device_components")
    op.drop_index(op.f("ix_part_uses_device"), table_name="part_uses")
    op.drop_index(op.f("ix_part_uses_ticket_id"), table_name="part_uses")
    op.drop_table("part_uses")
    op.drop_table("parts")
    op.drop_index(op.f("ix_outbox_next_attempt_at"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_status"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("uq_escalations_step", table_name="escalations")
    op.drop_table("escalations")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("name")
    op.drop_index(op.f("ix_tickets_followup_due_at"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_closed_at"), table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        for name in (*_TICKET_TIMES, "snapshot", "related", "recurrences", "internal", "assignee"):
            batch.drop_column(name)
