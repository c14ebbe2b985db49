"""Initial schema: observations, tickets, events, numbers, tokens, engine state.

The walking skeleton's tables; later issues add revisions on top.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "observations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        _when("time"),
        _when("received_at"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("known_device", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
    )
    op.create_index(op.f("ix_observations_device"), "observations", ["device"])
    op.create_index(op.f("ix_observations_time"), "observations", ["time"])

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("fingerprint", sa.String(500), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("customer", sa.String(200), nullable=False),
        sa.Column("contract", sa.String(200), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("site_hq", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("level", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        _when("detected_at"),
        _when("due_response"),
        _when("due_onsite"),
        _when("due_resolve"),
        _when("met_response", nullable=True),
        _when("met_onsite", nullable=True),
        _when("met_resolve", nullable=True),
        _when("recovered_at", nullable=True),
        _when("last_seen_at"),
        sa.Column("evidence_count", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
    )
    op.create_index(op.f("ix_tickets_fingerprint"), "tickets", ["fingerprint"])
    op.create_index(op.f("ix_tickets_customer"), "tickets", ["customer"])
    op.create_index(op.f("ix_tickets_device"), "tickets", ["device"])
    op.create_index(op.f("ix_tickets_status"), "tickets", ["status"])
    op.create_index(
        "uq_tickets_active_fingerprint",
        "tickets",
        ["fingerprint"],
        unique=True,
        sqlite_where=sa.text("status <> 'closed'"),
        postgresql_where=sa.text("status <> 'closed'"),
    )

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        _when("at"),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(op.f("ix_ticket_events_ticket_id"), "ticket_events", ["ticket_id"])

    op.create_table(
        "ticket_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_ticket_counters")),
    )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("customer", sa.String(200), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        _when("created_at"),
        _when("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )

    op.create_table(
        "engine_state",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_engine_state")),
    )


def downgrade() -> None:
    op.drop_table("engine_state")
    op.drop_table("api_tokens")
    op.drop_table("ticket_counters")
    op.drop_index(op.f("ix_ticket_events_ticket_id"), table_name="ticket_events")
    op.drop_table("ticket_events")
    op.drop_index("uq_tickets_active_fingerprint", table_name="tickets")
    for column in ("status", "device", "customer", "fingerprint"):
        op.drop_index(op.f(f"ix_tickets_{column}"), table_name="tickets")
    op.drop_table("tickets")
    op.drop_index(op.f("ix_observations_time"), table_name="observations")
    op.drop_index(op.f("ix_observations_device"), table_name="observations")
    op.drop_table("observations")
