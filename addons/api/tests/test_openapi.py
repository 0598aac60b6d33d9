"""The OpenAPI document: generated from the registered operations, valid OpenAPI 3.1."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate


def test_the_document_is_valid_openapi_3_1(testapp: Any) -> None:
    response = testapp.get("/api/v1/openapi.json", status=200)
    assert response.content_type == "application/json"
    document = response.json
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) >= {
        "/api/v1/notes",
        "/api/v1/notes/{id}",
        "/api/v1/notes/{id}/publish",
        "/api/v1/tags",
        "/api/v1/tags/{id}",
        "/api/v1/ping",
    }


def operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    result: dict[str, Any] = document["paths"]["/api/v1" + path][method]
    return result


def test_colander_schemas_become_json_schemas(testapp: Any) -> None:
    document = testapp.get("/api/v1/openapi.json").json
    create = operation(document, "/notes", "post")
    body = create["requestBody"]["content"]["application/json"]
    schema = body["schema"]
    assert schema["required"] == ["title"]
    properties = schema["properties"]
    assert properties["title"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 100,
        "title": "Title",
    }
    # The forms' EnumType, optional with a default.
    assert properties["status"]["enum"] == ["draft", "published", None]
    assert properties["status"]["default"] == "draft"
    assert properties["rating"]["minimum"] == 1
    assert properties["rating"]["maximum"] == 5
    assert properties["rating"]["type"] == ["integer", "null"]
    assert properties["due"]["format"] == "date"
    assert body["example"]["title"] == "Example"

    publish = operation(document, "/notes/{id}/publish", "post")
    notify = publish["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert notify["notify"]["format"] == "email"
    answered = publish["responses"]["200"]["content"]["application/json"]["schema"]
    assert answered["properties"]["status"]["enum"] == ["published"]

    patch = operation(document, "/notes/{id}", "patch")
    assert "required" not in patch["requestBody"]["content"]["application/json"]["schema"]
    assert "application/merge-patch+json" in patch["requestBody"]["content"]


def test_parameters_and_headers_are_documented(testapp: Any) -> None:
    document = testapp.get("/api/v1/openapi.json").json
    listing = operation(document, "/notes", "get")
    names = [p["name"] for p in listing["parameters"]]
    assert names == ["limit", "cursor", "fields", "sort", "status", "rating", "author_id"]
    limit = listing["parameters"][0]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 20)
    assert set(listing["responses"]["200"]["headers"]) == {"Link"}

    get = operation(document, "/notes/{id}", "get")
    assert {p["name"]: p["in"] for p in get["parameters"]} == {
        "id": "path",
        "fields": "query",
        "If-None-Match": "header",
    }
    assert "304" in get["responses"]
    notes_patch = operation(document, "/notes/{id}", "patch")
    if_match = next(p for p in notes_patch["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is False
    assert "428" not in notes_patch["responses"]
    tags_patch = operation(document, "/tags/{id}", "patch")
    if_match = next(p for p in tags_patch["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True
    assert "428" in tags_patch["responses"]

    create = operation(document, "/notes", "post")
    assert set(create["responses"]["201"]["headers"]) == {"ETag", "Location"}


def test_every_error_is_a_problem_and_security_is_declared(testapp: Any) -> None:
    document = testapp.get("/api/v1/openapi.json").json
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}
    assert document["components"]["securitySchemes"]["cookieAuth"]["name"] == "session"
    for path, item in document["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    content = response["content"]["application/problem+json"]
                    assert content["schema"] == {"$ref": "#/components/schemas/Problem"}
                    assert content["example"]["status"] == int(status)
            if path == "/api/v1/ping":
                assert op["security"] == [{}]
                assert "401" not in op["responses"]
            else:
                assert op["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
                assert {"401", "403"} <= set(op["responses"]), (path, method)
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_what_the_api_answers_is_what_the_document_says(
    testapp: Any, auth_make_user: Any, token_for: Any, make_note: Any, documented: Any
) -> None:
    ada = auth_make_user()
    auth = token_for(ada)
    bob_auth = token_for(auth_make_user("Bob"))
    for i in range(3):
        make_note(ada, title=f"Note {i}")
    documented(testapp.get("/api/v1/notes?limit=2", headers=auth))
    documented(testapp.get("/api/v1/notes?fields=id", headers=auth))
    documented(testapp.get("/api/v1/notes?sort=nothing", headers=auth, status=400))
    documented(testapp.get("/api/v1/notes", status=401))
    created = documented(
        testapp.post_json("/api/v1/notes", {"title": "Doc"}, headers=auth, status=201)
    )
    url = created.headers["Location"].removeprefix("http://localhost")
    etag = created.headers["ETag"]
    documented(testapp.post_json("/api/v1/notes", {}, headers=auth, status=422))
    documented(testapp.post("/api/v1/notes", "x", headers=auth, status=415))
    documented(testapp.get(url, headers=auth))
    documented(testapp.get(url, headers={**auth, "If-None-Match": etag}, status=304))
    documented(testapp.patch_json(url, {"rating": 3}, headers=auth))
    documented(
        testapp.put_json(url, {"title": "x"}, headers={**auth, "If-Match": etag}, status=412)
    )
    documented(testapp.delete(url, headers=bob_auth, status=403))
    documented(testapp.post_json(url + "/publish", {"message": "hi"}, headers=auth))
    documented(testapp.delete(url, headers=auth, status=204))
    documented(testapp.get(url, headers=auth, status=404))
    documented(testapp.get("/api/v1/ping"))
    tag = documented(testapp.post_json("/api/v1/tags", {"name": "t"}, headers=auth, status=201))
    documented(testapp.delete(tag.headers["Location"], headers=auth, status=428))
    documented(testapp.post_json("/api/v1/tags", {"name": "t"}, headers=auth, status=409))
