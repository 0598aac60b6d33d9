"""Create the formstest tables.

Revision ID: f0e1d2c3b4a5
"""

import sqlalchemy as sa
from alembic import op

revision = "f0e1d2c3b4a5"
down_revision = None
branch_labels = ("formstest",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "formstest_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_formstest_messages")),
    )
    op.create_table(
        "formstest_authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_formstest_authors")),
        sa.UniqueConstraint("name", name=op.f("uq_formstest_authors_name")),
    )
    op.create_table(
        "formstest_books",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("isbn", sa.String(length=13), nullable=True),
        sa.Column("genre", sa.String(length=20), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("in_print", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["formstest_authors.id"],
            name=op.f("fk_formstest_books_author_id_formstest_authors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_formstest_books")),
        sa.UniqueConstraint("author_id", "title", name=op.f("uq_formstest_books_author_id_title")),
        sa.UniqueConstraint("isbn", name=op.f("uq_formstest_books_isbn")),
    )


def downgrade() -> None:
    op.drop_table("formstest_books")
    op.drop_table("formstest_authors")
    op.drop_table("formstest_messages")
