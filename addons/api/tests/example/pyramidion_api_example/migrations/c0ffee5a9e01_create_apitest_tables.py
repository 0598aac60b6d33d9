"""create apitest tables

Revision ID: c0ffee5a9e01
Revises:
Create Date: 2026-12-03 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0ffee5a9e01"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("apitest",)
depends_on: str | Sequence[str] | None = "bebbc9420db2"


def upgrade() -> None:
    op.create_table(
        "apitest_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apitest_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_apitest_tags_name")),
    )
    op.create_table(
        "apitest_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.Enum("draft", "published", name="apitest_status"), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["auth_users.id"],
            name=op.f("fk_apitest_notes_author_id_auth_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apitest_notes")),
    )
    op.create_table(
        "apitest_note_tags",
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["apitest_notes.id"],
            name=op.f("fk_apitest_note_tags_note_id_apitest_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["apitest_tags.id"],
            name=op.f("fk_apitest_note_tags_tag_id_apitest_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("note_id", "tag_id", name=op.f("pk_apitest_note_tags")),
    )


def downgrade() -> None:
    op.drop_table("apitest_note_tags")
    op.drop_table("apitest_notes")
    op.drop_table("apitest_tags")
