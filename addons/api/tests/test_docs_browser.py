"""The interactive docs in a real browser (headless Chromium).

A logged-in user opens ``/api/v1/docs``: Swagger UI renders the blog's
operations from the generated document, axe-core finds no serious or
critical violation at a desktop's width or a phone's (where nothing
scrolls sideways), the page's Content-Security-Policy refuses nothing
(a "securitypolicyviolation" listener), an operation opens from the
keyboard, and "Try it out" → "Execute" on ``POST /api/v1/posts`` creates
the post with the session alone: the page's request interceptor asks
``/csrf-token`` first and sends the token in ``X-CSRF-Token``.

The live server commits for real, in a database of this module's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import transaction
import zope.sqlalchemy
from sqlalchemy import select

from pyramidion import get_database
from pyramidion.testing import LiveServer, axe_violations, own_database
from pyramidion_auth.accounts import create_user
from pyramidion_auth.testing import AUTH_TEST_PASSWORD
from pyramidion_blog.models import Post

pytestmark = pytest.mark.slow

PHONE = {"width": 360, "height": 740}
# Swagger UI's operation blocks, by method and path.
LIST = '.opblock-get:has(.opblock-summary-path[data-path="/api/v1/posts"])'
CREATE = '.opblock-post:has(.opblock-summary-path[data-path="/api/v1/posts"])'


@pytest.fixture(scope="module")
def pyramidion_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own: the live server commits for real."""
    with own_database(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    return ["blog", "api"]


@dataclass
class Writer:
    id: int
    email: str


@pytest.fixture
def writer(pyramidion_live_server: LiveServer) -> Writer:
    """A user who may write posts, committed on the live server's database."""
    registry = pyramidion_live_server.app.registry
    manager = transaction.TransactionManager(explicit=True)
    email = f"docs-{uuid.uuid4().hex[:8]}@example.com"
    with manager:
        session = get_database(registry).session_factory()
        zope.sqlalchemy.register(session, transaction_manager=manager)
        user = create_user(registry, session, email=email, password=AUTH_TEST_PASSWORD)
        session.flush()
        made = Writer(user.id, email)
    return made


def survey(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations at a desktop's width and a
    phone's, and sideways scrolling on the phone."""
    problems = list(axe_violations(page))
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        if page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        ):
            problems.append({"id": "horizontal-scroll", "impact": "serious", "targets": []})
        problems.extend(axe_violations(page))
    finally:
        page.set_viewport_size(size)
    return problems


#: Records what the page's Content-Security-Policy refuses; the browser
#: reports it as an event, not as a console message. Evaluated by the
#: browser before the page's own scripts, outside the policy's reach.
WATCH_POLICY = (
    "window.policyRefusals = [];"
    "document.addEventListener('securitypolicyviolation', e =>"
    " window.policyRefusals.push(`${e.effectiveDirective} refused ${e.blockedURI}`));"
)


def refusals(page: Any) -> list[str]:
    """What the page's Content-Security-Policy refused so far."""
    found: list[str] = page.evaluate("window.policyRefusals")
    return found


def report(problems: list[dict[str, Any]]) -> str:
    return "\n".join(f"{p['id']} ({p['impact']}): {p['targets'][:3]}" for p in problems)


def test_a_logged_in_user_reads_and_uses_the_interactive_docs(
    pyramidion_page: Any, pyramidion_live_server: LiveServer, writer: Writer
) -> None:
    base = pyramidion_live_server.url
    page = pyramidion_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(WATCH_POLICY)
    sent: list[dict[str, str]] = []
    page.on(
        "request",
        lambda request: (
            sent.append({"method": request.method, **request.headers})
            if request.url == f"{base}/api/v1/posts"
            else None
        ),
    )

    page.goto(f"{base}/auth/login")
    page.fill('input[name="email"]', writer.email)
    page.fill('input[name="password"]', AUTH_TEST_PASSWORD)
    page.click('main button[type="submit"]')
    page.wait_for_selector('[data-user-menu="name"]')

    # The operations are rendered from the generated document.
    page.goto(f"{base}/api/v1/docs")
    page.wait_for_selector(LIST)
    assert "/api/v1/posts" in page.inner_text(LIST)
    assert page.evaluate("typeof window.ui === 'object' && window.ui !== null")
    assert not refusals(page), refusals(page)

    found = {"docs page": survey(page)}

    # An operation opens from the keyboard.
    page.focus(f"{LIST} .opblock-summary-control")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{LIST} .opblock-body")

    # "Try it out" and "Execute" create a post with the session alone.
    title = f"From the docs {uuid.uuid4().hex[:8]}"
    page.click(f"{CREATE} .opblock-summary-control")
    page.click(f"{CREATE} button.try-out__btn")
    page.fill(
        f"{CREATE} textarea.body-param__text",
        f'{{"title": "{title}", "body": "Written in the API\'s docs page."}}',
    )
    page.click(f"{CREATE} button.execute")
    status = page.wait_for_selector(
        f"{CREATE} .live-responses-table tr.response .response-col_status"
    )
    assert status.inner_text().strip().startswith("201"), status.inner_text()
    assert not refusals(page), refusals(page)
    # Away from the button just pressed: axe judges colours, not hover effects.
    page.mouse.move(0, 0)
    found["docs page, after Execute"] = survey(page)
    shown = "\n".join(f"{name}:\n{report(problems)}" for name, problems in found.items())
    print("\nserious or critical axe violations:\n" + shown)
    assert not any(found.values()), shown

    posts = [headers for headers in sent if headers["method"] == "POST"]
    assert len(posts) == 1
    assert posts[0].get("x-csrf-token")
    assert "authorization" not in posts[0]
    with get_database(pyramidion_live_server.app.registry).session_factory() as session:
        created = session.scalars(select(Post).where(Post.title == title)).one()
        assert created.author_id == writer.id

    # Unsafe calls without the session's token are refused: the header is
    # what made the difference.
    refused = page.evaluate(
        "() => fetch('/api/v1/posts', {method: 'POST', credentials: 'same-origin',"
        " headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({title: 'No token', body: 'Refused.'})}).then(r => r.status)"
    )
    assert refused in (400, 403), refused

    assert not refusals(page), refusals(page)
    assert not errors, errors
