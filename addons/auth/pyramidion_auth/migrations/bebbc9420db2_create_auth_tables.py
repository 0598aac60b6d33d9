"""Create the auth tables: users, groups, memberships, sessions, API tokens,
one-time tokens and login throttle counters.

Revision ID: bebbc9420db2
Revises:
Create Date: 2026-11-21 12:06:11.951178
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bebbc9420db2"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("auth",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_auth_groups_name")),
    )
    op.create_table(
        "auth_throttle_counters",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttle_counters")),
    )
    op.create_table(
        "auth_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("email_verified_at", sa.DateTime(), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_users")),
        sa.UniqueConstraint("email", name=op.f("uq_auth_users_email")),
    )
    op.create_table(
        "auth_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_users.id"],
            name=op.f("fk_auth_api_tokens_user_id_auth_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_api_tokens_token_hash")),
    )
    with op.batch_alter_table("auth_api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "auth_memberships",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["auth_groups.id"],
            name=op.f("fk_auth_memberships_group_id_auth_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_users.id"],
            name=op.f("fk_auth_memberships_user_id_auth_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "group_id", name=op.f("pk_auth_memberships")),
    )
    with op.batch_alter_table("auth_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_memberships_group_id"), ["group_id"], unique=False
        )

    op.create_table(
        "auth_one_time_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_users.id"],
            name=op.f("fk_auth_one_time_tokens_user_id_auth_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_one_time_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_one_time_tokens_token_hash")),
    )
    with op.batch_alter_table("auth_one_time_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_one_time_tokens_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_users.id"],
            name=op.f("fk_auth_sessions_user_id_auth_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_sessions_user_id"))

    op.drop_table("auth_sessions")
    with op.batch_alter_table("auth_one_time_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_one_time_tokens_user_id"))

    op.drop_table("auth_one_time_tokens")
    with op.batch_alter_table("auth_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_memberships_group_id"))

    op.drop_table("auth_memberships")
    with op.batch_alter_table("auth_api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_api_tokens_user_id"))

    op.drop_table("auth_api_tokens")
    op.drop_table("auth_users")
    op.drop_table("auth_throttle_counters")
    op.drop_table("auth_groups")
