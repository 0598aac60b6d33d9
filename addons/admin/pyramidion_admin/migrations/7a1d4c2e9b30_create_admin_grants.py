"""create admin_grants, the admin permissions groups hold

Revision ID: 7a1d4c2e9b30
Revises:
Create Date: 2026-12-03 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a1d4c2e9b30"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("admin",)
depends_on: str | Sequence[str] | None = ["bebbc9420db2"]


def upgrade() -> None:
    op.create_table(
        "admin_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("permission", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["auth_groups.id"],
            name=op.f("fk_admin_grants_group_id_auth_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_grants")),
        sa.UniqueConstraint(
            "group_id", "permission", name=op.f("uq_admin_grants_group_id_permission")
        ),
    )
    with op.batch_alter_table("admin_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_grants_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_admin_grants_permission"), ["permission"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_grants_permission"))
        batch_op.drop_index(batch_op.f("ix_admin_grants_group_id"))
    op.drop_table("admin_grants")
