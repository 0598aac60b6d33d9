"""The Alembic environment of Pyramidion.

Run by :mod:`pyramidion.migrate` (``pyramidion db ...`` and
``pyramidion addons ...``), never by the ``alembic`` command: there is no
``alembic.ini``. The caller passes an open connection in
``config.attributes["connection"]`` and owns its transaction, so that
migrations, install hooks and the add-on records commit or roll back
together.
"""

from alembic import context

from pyramidion.errors import CommandError
from pyramidion.migrate import context_options

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise CommandError(
        "Pyramidion migrations run on a live database connection only; "
        "offline SQL generation (--sql) is not supported. Run "
        "'pyramidion db upgrade CONFIG' against the database instead."
    )

context.configure(connection=connection, **context_options(context.config))
# begin_transaction() does nothing when the connection is already in a
# transaction, which is how the caller keeps ownership of it.
with context.begin_transaction():
    context.run_migrations()
