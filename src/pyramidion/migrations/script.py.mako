"""${message}

Revision ID: ${up_revision}
Revises:${" " + (down_revision if isinstance(down_revision, str) else ", ".join(down_revision)) if down_revision else ""}
Create Date: ${create_date}

Expand, then contract: the release now serving must keep working on the
database this revision produces. Drop or rename only what no running
release maps any more; `pyramidion db check` warns about such steps.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
