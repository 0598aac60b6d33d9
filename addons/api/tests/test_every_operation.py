"""Over every registered operation: an anonymous client gets 401 problem+json
(unless the operation is public), and no path answers HTML."""

from __future__ import annotations

import re
from typing import Any

from pyramidion import PUBLIC
from pyramidion_api import api_operations


def test_every_operation_refuses_anonymous_clients_as_problem_json(
    testapp: Any, auth_make_user: Any, make_note: Any, dbsession: Any, tm: Any
) -> None:
    from pyramidion_api_example.models import Tag

    note = make_note(auth_make_user())
    tag = Tag(name="anonymous")
    dbsession.add(tag)
    dbsession.flush()
    tm.commit()
    ids = {"notes": note.id, "tags": tag.id}
    operations = api_operations(testapp.app.registry)
    assert len(operations) >= 14
    csrf = testapp.csrf_headers()
    for operation in operations:
        existing = str(ids.get(operation.path.split("/")[1], 1))
        path = "/api/v1" + re.sub(r"\{[^}]+\}", existing, operation.path)
        response = testapp.request(
            path,
            method=operation.method,
            headers={**csrf, "Accept": "text/html", "Content-Type": "application/json"},
            body=b"{}",
            expect_errors=True,
        )
        where = f"{operation.method} {operation.path}"
        if operation.permission == PUBLIC:
            assert response.status_int != 401, where
            continue
        assert response.status_int == 401, where
        assert response.content_type == "application/problem+json", where
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), where
