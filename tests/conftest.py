"""Fixtures for the core's own tests; the kit itself is pyramidion.testing.

``notes`` is a small add-on installed for the request-path tests: a model,
views that write, fail, retry and log, a model route factory and a
traversal child, so the tests exercise the core the way an add-on does.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, select

from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.distributions import Distributions, distributions

pytest_plugins = ["pytester"]

__all__ = [
    "Distributions",
    "Notes",
    "distributions",
    "no_deployment_environment",
    "notes",
    "notes_app",
]

NOTES_MODELS = """
from pyramid.authorization import Allow, Everyone
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from pyramidion.db import Base


class Note(Base):
    __tablename__ = "{table}"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))

    @property
    def __acl__(self):
        if self.text.startswith("private"):
            return []
        return [(Allow, Everyone, "view")]
"""

NOTES_VIEWS = """
import logging

from pyramid.authorization import Allow, Everyone
from pyramid.response import Response
from pyramid_retry import RetryableException
from sqlalchemy import func, select, text, update

from pyramidion import PUBLIC, model_factory

from .models import Note

log = logging.getLogger("{pkg}")


def ping(request):
    return {"pong": True}


def touch_database(request):
    return {"one": request.dbsession.execute(text("SELECT 1")).scalar_one()}


def add(request):
    note = Note(text=request.params["text"])
    request.dbsession.add(note)
    request.dbsession.flush()
    request.response.status = 201
    return {"id": note.id}


def rename_all(request):
    # The request's first statement is an ORM bulk UPDATE: no flush, no add.
    request.dbsession.execute(update(Note).values(text=request.params["text"]))
    return {"renamed": True}


def insert_through_connection(request):
    # Core SQL on the session's connection: the ORM never sees it.
    request.dbsession.connection().execute(
        Note.__table__.insert().values(text=request.params["text"])
    )
    return {"inserted": True}


def insert_in_plain_sql(request):
    # Plain SQL through the session: neither the ORM nor zope.sqlalchemy
    # can tell that it writes.
    request.dbsession.execute(
        text("INSERT INTO " + Note.__tablename__ + " (text) VALUES (:text)"),
        {"text": request.params["text"]},
    )
    return {"inserted": True}


def insert_through_the_driver(request):
    # Driver SQL with no parameters: SQLAlchemy hands the string over as is.
    request.dbsession.connection().exec_driver_sql(
        "INSERT INTO " + Note.__tablename__ + " (text) VALUES ('driver sql')"
    )
    return {"inserted": True}


def insert_through_the_dbapi(request):
    # On the driver's own connection SQLAlchemy sees nothing.
    cursor = request.dbsession.connection().connection.driver_connection.cursor()
    cursor.execute("INSERT INTO " + Note.__tablename__ + " (text) VALUES ('dbapi')")
    cursor.close()
    return {"inserted": True}


def add_then_raise(request):
    add(request)
    raise RuntimeError("boom: the password is swordfish")


def add_then_conflict(request):
    add(request)
    return Response("already there", status=409)


def flaky(request):
    attempt = request.environ["retry.attempt"]
    request.dbsession.add(Note(text=f"attempt {attempt}"))
    request.dbsession.flush()
    if attempt == 0:
        raise RetryableException("conflict, try again")
    return {"attempt": attempt}


def echo_flaky(request):
    attempt = request.environ["retry.attempt"]
    body = request.body.decode()
    if attempt == 0:
        raise RetryableException("conflict, try again")
    return {"attempt": attempt, "body": body}


def read_then_write(request):
    # Counts the notes, lets the test act (request.environ["notes.after_read"]),
    # then writes what it saw.
    attempt = request.environ["retry.attempt"]
    seen = request.dbsession.execute(select(func.count()).select_from(Note)).scalar_one()
    request.environ.get("notes.after_read", lambda attempt: None)(attempt)
    request.dbsession.add(Note(text=f"attempt {attempt} saw {seen}"))
    request.dbsession.flush()
    return {"attempt": attempt, "seen": seen}


def serialization_failure(request):
    attempt = request.environ["retry.attempt"]
    request.dbsession.add(Note(text=f"attempt {attempt}"))
    request.dbsession.flush()
    if attempt == 0:
        request.dbsession.execute(
            text(
                "DO $$ BEGIN RAISE EXCEPTION 'conflict' "
                "USING ERRCODE = 'serialization_failure'; END $$"
            )
        )
    return {"attempt": attempt}


def logs(request):
    log.warning("handling %s", request.path)
    return {"logged": True}


def private(request):
    return {"secret": True}


def show_note(request):
    return {"id": request.context.id, "text": request.context.text}


class Shelf:
    __acl__ = [(Allow, Everyone, "view")]

    def __init__(self, request):
        self.request = request


def shelf(context, request):
    return {"shelf": context.__name__, "parent": type(context.__parent__).__name__}


def includeme(config):
    public = {"renderer": "json", "permission": PUBLIC}
    for name, pattern, view, method in [
        ("ping", "/ping", ping, "GET"),
        ("touch", "/touch", touch_database, "GET"),
        ("add", "/add", add, "POST"),
        ("add_raise", "/add-then-raise", add_then_raise, "POST"),
        ("rename_all", "/rename-all", rename_all, "POST"),
        ("insert_raw", "/insert-raw", insert_through_connection, "POST"),
        ("insert_text", "/insert-text", insert_in_plain_sql, "POST"),
        ("insert_driver", "/insert-driver", insert_through_the_driver, "POST"),
        ("insert_dbapi", "/insert-dbapi", insert_through_the_dbapi, "POST"),
        ("add_409", "/add-then-409", add_then_conflict, "POST"),
        ("flaky", "/flaky", flaky, "POST"),
        ("echo_flaky", "/echo-flaky", echo_flaky, "POST"),
        ("serialization", "/serialization", serialization_failure, "POST"),
        ("read_then_write", "/read-then-write", read_then_write, "POST"),
        ("logs", "/logs", logs, "GET"),
    ]:
        config.add_route(f"notes.{name}", pattern, request_method=method)
        config.add_view(view, route_name=f"notes.{name}", **public)
    config.add_route("notes.private", "/private")
    config.add_view(private, route_name="notes.private", renderer="json")
    config.add_route("notes.note", "/items/{id}", factory=model_factory(Note))
    config.add_view(show_note, route_name="notes.note", renderer="json")
    config.add_traversal_child("shelf", Shelf)
    config.add_view(shelf, context=Shelf, renderer="json")
"""


@dataclass
class Notes:
    """The notes add-on as a test sees it."""

    package: Any
    Note: Any
    views: Any

    def texts(self, connection: Connection) -> list[str]:
        """The notes' texts, as the test's connection sees them."""
        table = self.Note.__table__
        return list(connection.execute(select(table.c.text).order_by(table.c.id)).scalars())


@pytest.fixture
def notes(distributions: Distributions) -> Notes:
    """The notes add-on, installed (not yet enabled)."""
    table = distributions.table("notes", "items")
    pkg = distributions.addon(
        "notes",
        includeme="config.include('{pkg}.views')",
        descriptor="models='{pkg}.models',",
        files={"models.py": NOTES_MODELS.format(table=table), "views.py": NOTES_VIEWS},
    )
    return Notes(
        package=importlib.import_module(pkg),
        Note=importlib.import_module(f"{pkg}.models").Note,
        views=importlib.import_module(f"{pkg}.views"),
    )


@pytest.fixture
def notes_app(
    notes: Notes, make_pyramidion_app: MakeApp, db_connection: Connection
) -> PyramidionTestApp:
    """WebTest over an app with notes enabled, inside the test's transaction."""
    app = make_pyramidion_app(addons=["notes"], connection=db_connection)
    notes.Note.__table__.create(db_connection)
    return PyramidionTestApp(app)


@pytest.fixture
def no_deployment_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide ``PYRAMIDION_*`` deployment variables from commands under test.

    Commands read the process environment as a deployment would; the test
    kit's own ``PYRAMIDION_TEST_*`` variables stay.
    """
    for name in list(os.environ):
        if name.startswith("PYRAMIDION_") and not name.startswith("PYRAMIDION_TEST_"):
            monkeypatch.delenv(name)
