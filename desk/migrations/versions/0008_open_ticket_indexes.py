"""Indexes for the console: open tickets (a partial index, so the queue does not scan the
whole history) and events by ticket and kind (which tickets need their clocks replayed).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("status <> 'closed'")


def upgrade() -> None:
    op.create_index(
        "ix_tickets_open", "tickets", ["id"], sqlite_where=_OPEN, postgresql_where=_OPEN
    )
    op.create_index("ix_ticket_events_ticket_id_kind", "ticket_events", ["ticket_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_ticket_events_ticket_id_kind", table_name="ticket_events")
    op.drop_index("ix_tickets_open", table_name="tickets")
