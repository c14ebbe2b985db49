"""Agent tokens scoped to a site or one device (issue #13 item 14): a remote collector's
or an agent's token may push observations only for the devices it is meant for.
Existing tokens keep no scope (they push for any device, as before).

Also: advisory tickets (contract or warranty ending, ``category: advisory``) opened
before advisories became the service manager's are made internal, so the customer stops
seeing them, as it no longer sees new ones.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.add_column(sa.Column("site", sa.String(200), nullable=True))
        table.add_column(sa.Column("device", sa.String(200), nullable=True))
    _advisories_internal()


def _advisories_internal() -> None:
    bind = op.get_bind()
    tickets = sa.table(
        "tickets", sa.column("id", sa.Integer), sa.column("labels"), sa.column("internal")
    )
    rows = bind.execute(
        sa.select(tickets.c.id, tickets.c.labels).where(tickets.c.internal == sa.false())
    )
    advisory = [
        ticket_id
        for ticket_id, labels in rows
        if (json.loads(labels) if isinstance(labels, str) else labels or {}).get("category")
        == "advisory"
    ]
    for start in range(0, len(advisory), 500):
        bind.execute(
            sa.update(tickets)
            .where(tickets.c.id.in_(advisory[start : start + 500]))
            .values(internal=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.drop_column("device")
        table.drop_column("site")
