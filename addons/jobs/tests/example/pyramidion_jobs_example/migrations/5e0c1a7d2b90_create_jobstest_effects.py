"""create jobstest_effects

Revision ID: 5e0c1a7d2b90
Revises:
Create Date: 2026-12-03 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e0c1a7d2b90"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("jobstest",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobstest_effects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobstest_effects")),
    )


def downgrade() -> None:
    op.drop_table("jobstest_effects")
