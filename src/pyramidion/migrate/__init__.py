"""Alembic, configured in code: one version graph, one branch per add-on.

There is no ``alembic.ini``. :func:`alembic_config` builds the configuration
from the application's registry:

- ``script_location`` is the core's ``pyramidion/migrations`` directory (its
  ``env.py`` and ``script.py.mako``);
- ``version_locations`` are the core's ``versions`` directory (the branch
  labelled ``pyramidion``) and the ``migrations`` directory of every enabled
  add-on that declares one (a branch labelled with the add-on's name), plus
  those of add-ons recorded as installed in the database but no longer
  enabled, so that their applied revisions can still be located;
- the version table is ``pyramidion_alembic_version``, named for the core
  like its other tables and apart from any Alembic setup of the integrator's
  own in the same database.

Every function here works on a connection the caller opened and whose
transaction the caller owns (``env.py`` never commits), so a command's
migrations, hooks and records are kept or dropped together. Migrations never
run at start-up; only the ``pyramidion db`` and ``pyramidion addons``
commands apply them.

The package is split by what changes together: :mod:`.config` (where the
revisions are and how Alembic is configured), :mod:`.graph` (reading the
version graph, once), :mod:`.apply` (upgrading and downgrading),
:mod:`.revisions` (comparing models with the database and writing new
revisions) and :mod:`.errors` (Alembic's and the driver's errors in our
words).
"""

from __future__ import annotations

from .apply import downgrade, upgrade_branch
from .config import (
    CORE_BRANCH,
    MIGRATIONS_DIR,
    VERSION_TABLE,
    alembic_config,
    branches,
    context_options,
    enabled_addon,
    make_include_object,
    migration_dir,
)
from .destructive import destructive_steps
from .errors import alembic_errors, database_error, describe_database_error
from .graph import (
    BranchRevision,
    VersionGraph,
    cached_pending_migrations,
    cached_version_graph,
    current_heads,
    current_revisions,
    forget_cached_graph,
    history,
    pending_migrations,
    record_applied,
    recorded_revisions,
    version_graph,
)
from .revisions import check, drift, make_revision

__all__ = [
    "CORE_BRANCH",
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "BranchRevision",
    "VersionGraph",
    "alembic_config",
    "alembic_errors",
    "branches",
    "cached_pending_migrations",
    "cached_version_graph",
    "check",
    "context_options",
    "current_heads",
    "current_revisions",
    "database_error",
    "describe_database_error",
    "destructive_steps",
    "downgrade",
    "drift",
    "enabled_addon",
    "forget_cached_graph",
    "history",
    "make_include_object",
    "make_revision",
    "migration_dir",
    "pending_migrations",
    "record_applied",
    "recorded_revisions",
    "upgrade_branch",
    "version_graph",
]
