"""Create pyramidion_idempotency_keys, the responses of Idempotency-Key requests.

Revision ID: 8b41f0c2d9e6
Revises: 5d2c8e41a7b0
Create Date: 2026-12-03 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b41f0c2d9e6"
down_revision: str | Sequence[str] | None = "5d2c8e41a7b0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Additive: releases that do not know this table keep working.
    op.create_table(
        "pyramidion_idempotency_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pyramidion_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_pyramidion_idempotency_keys_expires_at"),
        "pyramidion_idempotency_keys",
        ["expires_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_pyramidion_idempotency_keys_expires_at"),
        table_name="pyramidion_idempotency_keys",
    )
    op.drop_table("pyramidion_idempotency_keys")
