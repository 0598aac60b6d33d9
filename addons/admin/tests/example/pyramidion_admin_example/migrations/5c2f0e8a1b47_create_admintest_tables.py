"""create admintest_things and admintest_parts

Revision ID: 5c2f0e8a1b47
Revises:
Create Date: 2026-12-03 18:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c2f0e8a1b47"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("admintest",)
depends_on: str | Sequence[str] | None = ["bebbc9420db2"]


def upgrade() -> None:
    op.create_table(
        "admintest_things",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("TOOL", "TOY", "FOOD", name="kind", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("secret_token", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["auth_users.id"],
            name=op.f("fk_admintest_things_owner_id_auth_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admintest_things")),
    )
    op.create_index(op.f("ix_admintest_things_created_at"), "admintest_things", ["created_at"])
    op.create_index(op.f("ix_admintest_things_owner_id"), "admintest_things", ["owner_id"])
    op.create_table(
        "admintest_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thing_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("drawing_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["admintest_things.id"],
            name=op.f("fk_admintest_parts_thing_id_admintest_things"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admintest_parts")),
    )


def downgrade() -> None:
    op.drop_table("admintest_parts")
    op.drop_index(op.f("ix_admintest_things_owner_id"), table_name="admintest_things")
    op.drop_index(op.f("ix_admintest_things_created_at"), table_name="admintest_things")
    op.drop_table("admintest_things")
