"""Create pyramidion_addons, the record of add-ons installed in this database.

Revision ID: 901f3880011d
Revises:
Create Date: 2026-11-21 11:47:11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "901f3880011d"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("pyramidion",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pyramidion_addons",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("distribution", sa.String(length=200), nullable=False),
        sa.Column(
            "installed_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pyramidion_addons")),
    )


def downgrade() -> None:
    op.drop_table("pyramidion_addons")
