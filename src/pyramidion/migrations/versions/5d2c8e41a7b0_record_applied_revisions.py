"""Create pyramidion_applied_revisions, every revision applied to this database.

Revision ID: 5d2c8e41a7b0
Revises: 901f3880011d
Create Date: 2026-12-03 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d2c8e41a7b0"
down_revision: str | Sequence[str] | None = "901f3880011d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Additive: releases that do not know this table keep working.
    op.create_table(
        "pyramidion_applied_revisions",
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_pyramidion_applied_revisions")),
    )


def downgrade() -> None:
    op.drop_table("pyramidion_applied_revisions")
