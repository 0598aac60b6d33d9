"""The benchmarked apps do what the benchmark says they do: the references
answer exactly as Pyramidion does, every app serves the same logged-in page
with the statements the runner prints, and the 20-row page has no N+1
queries."""

from __future__ import annotations

import gc
import html
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from pyramid.request import Request
from sqlalchemy import event

from pyramidion.app import get_database
from pyramidion.db import metadata
from pyramidion.testing import MakeApp, PyramidionTestApp

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The benchmark's modules, with the ``bench`` add-on installed."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.syspath_prepend(str(BENCHMARKS))
        import run

        site = tmp_path_factory.mktemp("site")
        run.write_dist_info(site, "pyramidion-bench", {"bench": "pyramidion_bench:addon"})
        monkeypatch.syspath_prepend(str(site))
        yield run
    # Leave no trace for later tests: modules, tables on the shared
    # MetaData, and the mapped classes (held weakly by the registry).
    for name in [m for m in sys.modules if m.split(".")[0] in ("run", "apps", "pyramidion_bench")]:
        del sys.modules[name]
    for table in [t for t in metadata.tables.values() if t.name.startswith("bench_")]:
        metadata.remove(table)
    gc.collect()


def test_references_answer_like_pyramidion(bench: Any, tmp_path: Path) -> None:
    import apps

    url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
    bench.prepare_database(url, tmp_path / "files")
    options = {"files": str(tmp_path / "files")}
    answers = {}
    hello_only = ("raw-wsgi", "bare-pyramid-headers")
    header_names = {}
    for name in (
        "raw-wsgi",
        "bare-pyramid",
        "bare-pyramid-headers",
        "pyramid-tm",
        "flask-sqlalchemy",
        "pyramidion",
    ):
        factory = apps.FACTORIES[name]
        app = webtest.TestApp(factory(url, options), extra_environ={"HTTP_HOST": "localhost"})
        response = app.get("/bench/hello")
        hello = response.json
        header_names[name] = {h.lower() for h, _ in response.headerlist}
        item = app.get("/bench/items/42").json if name not in hello_only else None
        answers[name] = (hello, item)
        if name == "pyramidion":
            get_database(app.app.registry).engine.dispose()
    assert answers["raw-wsgi"][0] == answers["pyramidion"][0] == {"hello": "world"}
    expected = answers["pyramidion"]
    assert answers["bare-pyramid"] == answers["flask-sqlalchemy"] == expected
    assert answers["pyramid-tm"] == expected
    assert answers["bare-pyramid-headers"][0] == expected[0]
    # The second reference sends every header Pyramidion sends.
    assert header_names["bare-pyramid-headers"] == header_names["pyramidion"]
    assert expected[1] == {"id": 42, "name": "item 42", "price": 294}


@pytest.fixture
def logged_in(bench: Any, make_pyramidion_app: MakeApp, tmp_path: Path) -> PyramidionTestApp:
    """The Pyramidion app the benchmark serves, on its own database, logged in."""
    url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
    bench.prepare_database(url, tmp_path / "files")
    app = make_pyramidion_app(
        {
            "sqlalchemy.url": url,
            "storage.local_root": str(tmp_path / "files"),
            "auth.argon2_memory_cost": "19456",
            "auth.argon2_time_cost": "2",
            "auth.argon2_parallelism": "1",
        },
        addons=["bench"],
    )
    testapp = PyramidionTestApp(app)
    form = testapp.get("/auth/login").forms["login"]
    form["email"], form["password"] = bench.EMAIL, bench.PASSWORD
    form.submit("submit", status=303)
    return testapp


def test_the_list_page_costs_the_same_queries_for_2_or_20_rows(
    logged_in: PyramidionTestApp,
) -> None:
    from pyramidion_bench.models import Item, Owner

    testapp = logged_in
    engine = get_database(testapp.app.registry).engine
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def queries_for_page() -> int:
        statements.clear()
        page = testapp.get("/bench/list")
        assert page.text.count("<tr>") == 1 + rows
        return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))

    with engine.begin() as connection:
        connection.execute(Item.__table__.delete().where(Item.__table__.c.id > 2))
    rows = 2
    few = queries_for_page()
    with engine.begin() as connection:
        connection.execute(
            Item.__table__.insert(),
            [
                {"name": f"more {uuid.uuid4().hex[:6]}", "price": i, "owner_id": i % 5 + 1}
                for i in range(3, 30)
            ],
        )
    rows = 20
    many = queries_for_page()

    assert many == few
    # The session and user lookup, then one query for items with owners.
    assert many <= 4
    assert Owner.__table__.name in " ".join(statements)


def test_served_requests_are_freed_without_the_garbage_collector(
    logged_in: PyramidionTestApp,
) -> None:
    """The benchmarked pages leave no reference cycle of the app's own behind.

    One cycle per request (the traversal root and the auth session each
    held their request) made the garbage collector run every few hundred
    requests and cost more than some of the work measured. Pyramid's own
    request path makes cycles of its own, which are not counted here: it
    makes a request class per request when an extension is a property. So
    is WebOb's parsed query string, Pyramid's class-based views and error
    responses. Pyramid also binds every ``add_request_method`` method to
    the request in the request's ``__dict__``; the core's execution policy
    unbinds them when the request is over, so no request is left to the
    garbage collector, with all it reached.
    """
    testapp = logged_in

    def serve_the_benchmarked_pages() -> None:
        testapp.get("/bench/hello")
        testapp.get("/bench/items/7")
        testapp.get("/bench/list")

    serve_the_benchmarked_pages()  # caches filled, templates compiled
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        serve_the_benchmarked_pages()
        gc.collect()
        garbage = list(gc.garbage)
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()

    assert [describe(cycle) for cycle in cycles(garbage) if not pyramids_own(cycle)] == []
    assert [o for o in garbage if isinstance(o, Request)] == []


def cycles(objects: list[Any]) -> list[list[Any]]:
    """The reference cycles among ``objects``: their strongly connected
    components of more than one object, or of one that refers to itself."""
    by_id = {id(o): o for o in objects}
    edges = {i: [id(r) for r in gc.get_referents(o) if id(r) in by_id] for i, o in by_id.items()}
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    found: list[list[Any]] = []
    for root in by_id:
        if root in index:
            continue
        # Tarjan's algorithm, iteratively: a deep object graph must not
        # exhaust Python's recursion limit.
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if child < len(edges[node]):
                work.append((node, child + 1))
                nxt = edges[node][child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    found.append([by_id[i] for i in component])
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def pyramids_own(cycle: list[Any]) -> bool:
    """Whether a cycle is one Pyramid (or pyramid_services) makes for every request: a request,
    its ``__dict__`` with methods bound to it, and the request class it
    makes for the request, with that class's own parts. Or SQLAlchemy's
    state of an ORM object that such a request held, which is freed with
    it (the state's weak reference to its object calls back the state)."""
    from pyramid.request import Request
    from sqlalchemy.orm.state import InstanceState

    parts = ("method", "ReferenceType")
    if any(isinstance(o, InstanceState) for o in cycle) and all(
        isinstance(o, InstanceState) or type(o).__name__ in parts for o in cycle
    ):
        return True
    # pyramid_services (through wired) makes a service container with a
    # component registry of its own for each request that looks a service
    # up; the container and its registry refer to each other.
    if any(type(o).__module__.startswith("wired.") for o in cycle):
        return True
    from zope.interface.adapter import AdapterLookup, AdapterRegistry

    plain = (AdapterRegistry, AdapterLookup, dict, list, tuple)
    if any(isinstance(o, AdapterRegistry) for o in cycle) and all(
        isinstance(o, plain) or type(o).__name__ in ("method", "builtin_function_or_method")
        for o in cycle
    ):
        return True

    requests = [o for o in cycle if isinstance(o, Request)]
    classes = [o for o in cycle if isinstance(o, type) and issubclass(o, Request)]
    dicts = [vars(o) for o in requests + classes]
    for member in cycle:
        if member in requests or member in classes or any(member is d for d in dicts):
            continue
        if type(member).__name__ == "method" and isinstance(member.__self__, Request):
            continue
        if type(member).__name__ in ("tuple", "getset_descriptor", "ReferenceType"):
            continue
        return False
    return True


def describe(cycle: list[Any]) -> list[str]:
    return sorted(f"{type(o).__module__}.{type(o).__qualname__}" for o in cycle)


#: The logged-in page's apps, and the statements each sends its database
#: per request on SQLite, as the runner counts them: Django and Flask read
#: the session, the user and the items with their owners (pysqlite begins
#: no transaction for reads); Flask with signed-cookie sessions does not
#: read a session; Pyramidion reads the session with its user and groups
#: (one query) and the items in one transaction, BEGIN to ROLLBACK.
PAGE_APPS = {"django": 3, "flask-page": 3, "flask-page-cookie": 2, "pyramidion": 4}

ROW = re.compile(r"<tr>\s*<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>\s*</tr>")
CSRF_INPUT = re.compile(
    r'<input type="hidden" name="(csrf_token|csrfmiddlewaretoken)" value="([^"]+)"'
)


@pytest.fixture(scope="module")
def page_database(bench: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """An SQLite database as the runner prepares it, the references' tables
    included, and a directory with the ``bench`` add-on installed in ``site``."""
    tmp = tmp_path_factory.mktemp("page")
    bench.write_dist_info(tmp / "site", "pyramidion-bench", {"bench": "pyramidion_bench:addon"})
    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    bench.prepare_database(url, tmp / "files")
    bench.prepare_references(url, list(PAGE_APPS))
    return url, tmp


@pytest.mark.slow
@pytest.mark.parametrize("app", list(PAGE_APPS))
def test_every_app_serves_the_logged_in_page(
    bench: Any, page_database: tuple[str, Path], app: str
) -> None:
    """Served by waitress, logged in through the app's own form: the 20
    items with their owners, a CSRF token that logging out accepts, and the
    statements per request that the runner prints."""
    url, tmp = page_database
    options = {"files": str(tmp / "files")} if app == "pyramidion" else {}
    server = bench.Server(app, app, url, options, [tmp / "site"], 1)

    statements, page = bench.count_statements(server, "/bench/list", tmp)

    expected = [
        (f"item {i}", str(i * 7 % 1000), f"owner {i % bench.OWNERS + 1}") for i in range(1, 21)
    ]
    assert [tuple(html.unescape(c) for c in row) for row in ROW.findall(page)] == expected
    assert "<title>Items · " in page
    assert statements == PAGE_APPS[app]

    with bench.serving(server):
        cookie = bench.log_in(server)
        page = server.request("/bench/list", headers={"Cookie": cookie}).read().decode()
        field, token = CSRF_INPUT.search(page).groups()  # type: ignore[union-attr]
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        refused = server.request("/auth/logout", method="POST", body="", headers=headers)
        refused.read()
        assert refused.status in (400, 403)
        assert server.request("/bench/list", headers={"Cookie": cookie}).status == 200
        logout = server.request(
            "/auth/logout", method="POST", body=f"{field}={token}", headers=headers
        )
        logout.read()
        assert logout.status in (302, 303)
        jar = dict(c.split("=", 1) for c in cookie.split("; "))
        jar.update(bench.cookies_of(logout))
        cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
        after = server.request("/bench/list", headers={"Cookie": cookie})
        assert after.status in (302, 303, 403)
