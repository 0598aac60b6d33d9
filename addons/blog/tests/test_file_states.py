"""Storage tells which files a row of another add-on uses: the blog's
attachments make their files "in use"; a kept file nothing refers to is an
orphan; a form's upload is temporary until it expires."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pyramidion_blog.models import Attachment, Post
from pyramidion_storage.models import StoredFile
from pyramidion_storage.services import (
    FILE_STATES,
    file_references,
    file_state,
    file_state_condition,
)

NOW = datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC)


def stored_file(dbsession: Session, **columns: Any) -> StoredFile:
    row = StoredFile(
        key=uuid.uuid4().hex,
        filename="notes.txt",
        content_type="text/plain",
        size=5,
        sha256="0" * 64,
        **columns,
    )
    dbsession.add(row)
    dbsession.flush()
    return row


def test_each_file_is_in_the_state_its_references_say(
    dbsession: Session, auth_make_user: Any, make_post: Any
) -> None:
    post = dbsession.get(Post, make_post(auth_make_user()).id)
    attached = stored_file(dbsession, owner_id=str(post.author_id), realm="blog.post")
    post.attachments.append(Attachment(file=attached))
    orphan = stored_file(dbsession, owner_id="1")
    upload = stored_file(
        dbsession, upload_token="t" * 64, expires_at=NOW + datetime.timedelta(hours=1)
    )
    expired = stored_file(
        dbsession, upload_token="u" * 64, expires_at=NOW - datetime.timedelta(hours=1)
    )
    dbsession.flush()
    mine = [attached.id, orphan.id, upload.id, expired.id]

    states = {
        row.id: file_state(dbsession, row, NOW) for row in (attached, orphan, upload, expired)
    }
    assert states == {
        attached.id: "in use",
        orphan.id: "orphan",
        upload.id: "temporary",
        expired.id: "expired",
    }
    for state in FILE_STATES:
        found = dbsession.scalars(
            select(StoredFile.id).where(StoredFile.id.in_(mine), file_state_condition(state, NOW))
        ).all()
        assert found == [key for key, value in states.items() if value == state]


def test_the_blog_attachment_column_is_a_file_reference() -> None:
    assert ("blog_attachments", "file_id") in {
        (table.name, column.name) for table, column in file_references()
    }


def test_an_unknown_state_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="use one of in use, orphan"):
        file_state_condition("lost")
