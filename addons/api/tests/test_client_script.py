"""The API as a client's script uses it: nothing but ``urllib`` against a
live server with the demo blog.

The script logs in through the login form, has its session create a
write-scoped token, uploads a file and creates a post with it attached,
edits the post with ``If-Match``, loses a race to another client with a
412 (and nothing of the winner's is lost), pages through 100 posts by
following ``next``, and runs into the rate limit (a small one, set for
this server) with ``Retry-After``.
"""

from __future__ import annotations

import html.parser
import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest
import transaction
import zope.sqlalchemy

from pyramidion import get_database
from pyramidion.testing import LiveServer, own_database
from pyramidion_auth.accounts import create_user
from pyramidion_auth.testing import AUTH_TEST_PASSWORD
from pyramidion_blog.models import Post

pytestmark = pytest.mark.slow

#: Requests one client may make in the window: enough for the script's
#: work, few enough to reach in a loop.
RATE_LIMIT = 40


@pytest.fixture(scope="module")
def pyramidion_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own: the live server commits for real."""
    with own_database(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    return ["blog", "api"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "storage.local_root": str(tmp_path_factory.mktemp("files")),
        "api.rate_limit": str(RATE_LIMIT),
        "api.rate_limit_window": "1h",
    }


# -- the client --------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A script sees the 303 a form answers with; it follows it if it wants to."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """What a script would write: a cookie jar, JSON in and out, a bearer token."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirects()
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        target = url if url.startswith("http") else self.base + url
        request = urllib.request.Request(target, data=data, headers=sent, method=method)
        try:
            with self.opener.open(request, timeout=30) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.headers, error.read())


class _FormFields(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def log_in(client: Client, email: str, password: str) -> None:
    """Submit the login form, its hidden fields (the CSRF token) included."""
    page = client.request("GET", "/auth/login")
    assert page.status == 200
    form = _FormFields()
    form.feed(page.body.decode())
    fields = {**form.fields, "email": email, "password": password, "submit": "submit"}
    answer = client.request(
        "POST",
        "/auth/login",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 303, answer.body


# -- the data the script starts from ---------------------------------------------


@dataclass
class Account:
    id: int
    email: str


@pytest.fixture
def account(pyramidion_live_server: LiveServer) -> Account:
    """A user with 100 posts of their own, committed on the live server's database."""
    registry = pyramidion_live_server.app.registry
    manager = transaction.TransactionManager(explicit=True)
    email = f"script-{uuid.uuid4().hex[:8]}@example.com"
    with manager:
        session = get_database(registry).session_factory()
        zope.sqlalchemy.register(session, transaction_manager=manager)
        user = create_user(registry, session, email=email, password=AUTH_TEST_PASSWORD)
        session.add_all(
            Post(author_id=user.id, title=f"Old post {i}", body="Written before.")
            for i in range(100)
        )
        session.flush()
        found = Account(user.id, email)
    return found


def test_a_script_posts_edits_races_pages_and_is_rate_limited(
    pyramidion_live_server: LiveServer, account: Account
) -> None:
    base = pyramidion_live_server.url

    # Log in as a browser would, and have the session make a token (only a
    # session may; the session's CSRF token, new since the login, is asked
    # of /csrf-token and sent back in a header).
    browser = Client(base)
    log_in(browser, account.email, AUTH_TEST_PASSWORD)
    csrf = browser.request("GET", "/csrf-token").json["csrf_token"]
    created = browser.request(
        "POST",
        "/api/v1/tokens",
        json_body={"name": "my script", "scope": "write"},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status == 201, created.body
    script = Client(base, token=created.json["token"])
    assert script.request("POST", "/api/v1/tokens", json_body={"name": "x"}).status == 403

    # A post with an attachment: upload the file, then send its key.
    uploaded = script.request(
        "POST",
        "/api/v1/files?filename=notes.txt",
        data=b"attached text\n",
        headers={"Content-Type": "text/plain"},
    )
    assert uploaded.status == 201, uploaded.body
    key = uploaded.json["key"]
    posted = script.request(
        "POST",
        "/api/v1/posts",
        json_body={"title": "From a script", "body": "Hello.", "attachments": [key]},
    )
    assert posted.status == 201, posted.body
    post_url = posted.headers["Location"]
    assert [a["filename"] for a in posted.json["attachments"]] == ["notes.txt"]
    download = script.request("GET", posted.json["attachments"][0]["url"])
    assert (download.status, download.body) == (200, b"attached text\n")

    # Two clients read the post; the first edits it with If-Match.
    first_read = script.request("GET", post_url)
    other = Client(base, token=created.json["token"])
    second_read = other.request("GET", post_url)
    assert first_read.headers["ETag"] == second_read.headers["ETag"]
    edited = script.request(
        "PATCH",
        post_url,
        json_body={"title": "Edited by the first"},
        headers={"If-Match": first_read.headers["ETag"]},
    )
    assert edited.status == 200, edited.body
    assert edited.headers["ETag"] != first_read.headers["ETag"]

    # The second still holds the old ETag: it loses the race, and the first
    # client's change is kept.
    lost = other.request(
        "PATCH",
        post_url,
        json_body={"title": "Edited by the second"},
        headers={"If-Match": second_read.headers["ETag"]},
    )
    assert lost.status == 412, lost.body
    assert lost.headers["Content-Type"].startswith("application/problem+json")
    assert lost.headers["ETag"] == edited.headers["ETag"]
    assert script.request("GET", post_url).json["title"] == "Edited by the first"

    # Page through the author's posts by following next, 20 at a time.
    url: str | None = f"/api/v1/posts?author_id={account.id}&limit=20"
    seen: list[int] = []
    pages = 0
    while url is not None:
        page = script.request("GET", url)
        assert page.status == 200, page.body
        seen += [post["id"] for post in page.json["items"]]
        url = page.json["next"]
        if url is not None:
            assert page.headers["Link"] == f'<{url}>; rel="next"'
        pages += 1
    assert len(seen) == len(set(seen)) == 101
    assert pages == 6

    # The limit: every answer says what is left, and past it 429 says when
    # to come back.
    remaining = int(script.request("GET", "/api/v1/me").headers["RateLimit-Remaining"])
    assert 0 < remaining < RATE_LIMIT
    for _ in range(remaining):
        assert script.request("GET", "/api/v1/me").status == 200
    refused = script.request("GET", "/api/v1/me")
    assert refused.status == 429, refused.body
    assert refused.headers["RateLimit-Remaining"] == "0"
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= 3600
    assert refused.json["status"] == 429
