"""API tokens get a scope: "read" (safe methods only) or "write".

Tokens that exist become "write": they were created when every token
could do whatever its user may, and the scripts that hold them were
written for that. Turning them read-only on deploy would break those
integrations without a word; their owners can replace them with read
tokens when they choose. The column keeps "write" as its server default,
so a process still running the release before scopes can insert tokens
into a database already migrated (expand, then contract).

Revision ID: 5c1e7a9d2f40
Revises: bebbc9420db2
Create Date: 2026-12-03 18:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e7a9d2f40"
down_revision: str | Sequence[str] | None = "bebbc9420db2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=8), server_default="write", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_api_tokens", schema=None) as batch_op:
        batch_op.drop_column("scope")
