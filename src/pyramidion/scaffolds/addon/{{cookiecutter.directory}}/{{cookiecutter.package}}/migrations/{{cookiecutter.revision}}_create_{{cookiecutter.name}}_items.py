"""Create {{ cookiecutter.name }}_items.

Revision ID: {{ cookiecutter.revision }}

Write every revision so that the release before it still runs on the
database it produces (expand, then contract): add tables and nullable
columns here; drop or rename what the previous release maps only in a
later release, once no running code uses it. `pyramidion db check` warns
about such steps. See docs/integrators/migrations.md in Pyramidion.
"""

import sqlalchemy as sa
from alembic import op

revision = "{{ cookiecutter.revision }}"
down_revision = None
branch_labels = ("{{ cookiecutter.name }}",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "{{ cookiecutter.name }}_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "id",
            name=op.f("pk_{{ cookiecutter.name }}_items"),
        ),
    )


def downgrade() -> None:
    op.drop_table("{{ cookiecutter.name }}_items")
