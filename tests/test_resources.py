"""Traversal children mounted by add-ons, and model contexts loaded by route
factories whose ``__acl__`` decides access."""

from __future__ import annotations

from typing import Any

from pyramidion.testing import PyramidionTestApp
from tests.conftest import Notes


def test_traversal_child_mounted_by_an_addon(notes_app: PyramidionTestApp) -> None:
    assert notes_app.get("/shelf").json == {"shelf": "shelf", "parent": "Root"}


def test_unknown_traversal_name_is_404(notes_app: PyramidionTestApp) -> None:
    notes_app.get("/cupboard", status=404)


def test_model_factory_loads_the_row(
    notes_app: PyramidionTestApp, notes: Notes, dbsession: Any
) -> None:
    note = notes.Note(text="hello")
    dbsession.add(note)
    dbsession.flush()

    assert notes_app.get(f"/notes/items/{note.id}").json == {"id": note.id, "text": "hello"}


def test_model_factory_404_for_missing_or_malformed_ids(
    notes_app: PyramidionTestApp, notes: Notes, dbsession: Any
) -> None:
    note = notes.Note(text="hello")
    dbsession.add(note)
    dbsession.flush()

    notes_app.get(f"/notes/items/{note.id + 1}", status=404)
    notes_app.get("/notes/items/abc", status=404)


def test_model_acl_decides_access(
    notes_app: PyramidionTestApp, notes: Notes, dbsession: Any
) -> None:
    note = notes.Note(text="private thoughts")
    dbsession.add(note)
    dbsession.flush()

    response = notes_app.get(f"/notes/items/{note.id}", status=403)
    assert "private thoughts" not in response.text
