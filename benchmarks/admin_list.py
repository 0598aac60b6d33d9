"""The admin's user list on a big table: first page, a filtered page, a
search, and the next-page link.

    .venv/bin/python benchmarks/admin_list.py [--users 1000000] [--requests 50]
                                              [--postgresql URL] [--trigram]

Seeds ``--users`` accounts (a tenth inactive) with one INSERT ... SELECT
from ``generate_series`` in a temporary database on the PostgreSQL server
``--postgresql`` names (default: the machine's, as user postgres), then
logs in as an administrator and requests each page ``--requests`` times in
process (WSGI, no server), printing p50 and p99 in milliseconds.

The list pages by cursor and never counts the whole table (the planner's
estimate is shown), so the first page, a filtered page, the next page and
a page deep in the list (after user 999,000 in email order) cost the same
on any table size. Orders over a nullable column, one way or mixed, are
measured on the list's own queries (``list_page``): the first page, a page
deep among the values and one deep among the NULLs; so is a search by the
start of the email (a ``^email`` registration, with the btree index
``pyramidion admin search-index`` prints for it). A substring search
(``?q=``) needs an index that serves it: ``--trigram`` creates the one pg_trgm GIN index on
the list's search document that ``pyramidion admin search-index`` prints,
as an integrator would (docs/performance.md).

Timings are printed, never asserted; on a shared machine they are noise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from types import SimpleNamespace
from typing import Any

USERS = "/admin/auth/user/"


def seed(connection: Any, users: int, trigram: bool, users_admin: Any) -> None:
    from sqlalchemy import text

    connection.execute(
        text(
            "INSERT INTO auth_users (email, display_name, is_active, created_at, updated_at) "
            "SELECT 'user-' || i || '@example.com', 'User ' || i, i % 10 <> 0, "
            "now() - i * interval '1 second', now() FROM generate_series(1, :n) AS i"
        ),
        {"n": users},
    )
    if trigram:
        # The index the admin's own DDL helper prints for the list measured
        # (`pyramidion admin search-index CONFIG auth.user`).
        from pyramidion_admin.listing import search_index_ddl

        for statement in search_index_ddl(users_admin):
            connection.execute(text(statement))
    connection.execute(text("ANALYZE auth_users"))


def seed_verified(connection: Any) -> None:
    """Give users a nullable sort column: ``email_verified_at`` with ties (seven
    users a second) and NULL for every third user, indexed as an integrator
    would index a column the admin sorts by."""
    from sqlalchemy import text

    connection.execute(
        text(
            "UPDATE auth_users SET email_verified_at = CASE WHEN id % 3 = 0 THEN NULL "
            "ELSE timestamp '2026-01-01' + (id / 7) * interval '1 second' END"
        )
    )
    connection.execute(
        text("CREATE INDEX bench_auth_users_verified ON auth_users (email_verified_at, id)")
    )
    connection.execute(text("ANALYZE auth_users"))


def timed_pages(app: Any, model_admin: Any, params: dict[str, str], requests: int) -> Any:
    """p50 and p99 ms of ``list_page`` (the list's queries, no rendering)."""
    from pyramid.request import Request
    from pyramid.scripting import prepare
    from pyramidion_admin.listing import list_page

    def one() -> float:
        request = Request.blank("/admin/")
        env = prepare(request=request, registry=app.registry)
        request.tm.begin()
        try:
            started = time.perf_counter()
            list_page(request, model_admin, params)
            return (time.perf_counter() - started) * 1000
        finally:
            request.tm.abort()
            env["closer"]()

    for _ in range(3):
        one()
    times = sorted(one() for _ in range(requests))
    p99 = times[min(len(times) - 1, round(len(times) * 0.99) - 1)]
    return statistics.median(times), p99


def nullable_cases(app: Any, users: int, requests: int) -> None:
    """Deep pages of orders over a nullable column, one way and mixed."""
    import datetime

    from pyramidion_admin.listing import SortKey, encode_cursor
    from pyramidion_admin.options import build_model_admin

    from pyramidion_auth.models import User

    deep_id = users - 1000 - (users - 1000) % 3 + 1  # a user with a date, near the end
    deep_at = datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=deep_id // 7)
    cases: list[tuple[str, Any, dict[str, str]]] = []
    for ordering in (
        ("email_verified_at",),
        ("email_verified_at", "-id"),
        ("-email_verified_at",),
    ):
        model_admin = build_model_admin(User, addon="auth", ordering=ordering, page_size=50)
        keys = [SortKey(o.lstrip("-"), o.startswith("-")) for o in ordering]
        if "id" not in {k.name for k in keys}:
            keys.append(SortKey("id", keys[0].descending))
        label = ",".join(ordering)
        row = SimpleNamespace(email_verified_at=deep_at, id=deep_id)
        cases.append((f"{label}: first", model_admin, {}))
        cases.append((f"{label}: deep", model_admin, {"after": encode_cursor(keys, row)}))
        among_nulls = SimpleNamespace(email_verified_at=None, id=deep_id - 1)
        cases.append(
            (f"{label}: in the NULLs", model_admin, {"after": encode_cursor(keys, among_nulls)})
        )
    print(f"\nnullable sort column (email_verified_at, a third NULL), {requests} requests:")
    print(f"{'page':<40} {'p50':>8} {'p99':>8}")
    for name, model_admin, params in cases:
        p50, p99 = timed_pages(app, model_admin, params, requests)
        print(f"{name:<40} {p50:>8.1f} {p99:>8.1f}")


def prefix_search_case(app: Any, engine: Any, requests: int) -> None:
    """A search of users by the start of their email (``^email``), with the
    btree index ``search_index_ddl`` prints for it."""
    from pyramidion_admin.listing import search_index_ddl
    from pyramidion_admin.options import build_model_admin
    from sqlalchemy import text

    from pyramidion_auth.models import User

    model_admin = build_model_admin(User, addon="auth", search_fields=("^email",), page_size=50)
    with engine.begin() as connection:
        for statement in search_index_ddl(model_admin):
            connection.execute(text(statement))
        connection.execute(text("ANALYZE auth_users"))
    p50, p99 = timed_pages(app, model_admin, {"q": "user-4242"}, requests)
    print(f"\nsearch by email prefix (^email, q=user-4242), {requests} requests:")
    print(f"{'page':<22} {'p50':>8} {'p99':>8}")
    print(f"{'list_page':<22} {p50:>8.1f} {p99:>8.1f}")


def timed(client: Any, url: str, requests: int) -> tuple[float, float]:
    for _ in range(3):  # warm up: connections, templates, plans
        client.get(url)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(len(times) * 0.99) - 1)]
    return statistics.median(times), p99


#: The issue's target: each of these pages' p50 under 50 ms.
TARGET_MS = 50.0
TARGET_PAGES = ("first page", "filtered (inactive)", "search", "next page")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000, help="accounts to seed (1000000)")
    parser.add_argument("--requests", type=int, default=50, help="requests per page (50)")
    parser.add_argument(
        "--postgresql",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server URL; a temporary database is made on it",
    )
    parser.add_argument(
        "--trigram",
        action="store_true",
        help="index the search document with pg_trgm, as `pyramidion admin search-index` prints",
    )
    args = parser.parse_args(argv)

    from pyramidion_admin.listing import SortKey, encode_cursor
    from pyramidion_admin.options import admin_site
    from sqlalchemy import create_engine

    from pyramidion import get_database, make_app
    from pyramidion.testing import (
        PyramidionTestApp,
        build_settings,
        migrate,
        temporary_database,
    )
    from pyramidion_auth.accounts import create_user
    from pyramidion_auth.models import User
    from pyramidion_auth.testing import AUTH_TEST_PASSWORD, AUTH_TEST_SETTINGS

    # The admin bundles its registration of auth's users (ordered by email,
    # searched by email and display name, filtered by is_active and
    # created_at): the list measured is the one an integrator gets.
    addons = ["admin"]
    with temporary_database(args.postgresql) as url, tempfile.TemporaryDirectory() as mail:
        settings = build_settings(url, addons, {**AUTH_TEST_SETTINGS, "auth.mail_directory": mail})
        app = make_app(settings, environ={})
        engine = create_engine(url)
        started = time.perf_counter()
        with engine.begin() as connection:
            migrate(app.registry, connection)
            seed(connection, args.users, args.trigram, admin_site(app.registry).for_model(User))
        print(f"seeded {args.users:,} users in {time.perf_counter() - started:.0f} s")
        session = get_database(app.registry).session_factory()
        create_user(
            app.registry,
            session,
            email="bench-admin@example.com",
            password=AUTH_TEST_PASSWORD,
            admin=True,
        )
        session.commit()
        session.close()

        client = PyramidionTestApp(app)
        login = client.get("/auth/login").forms["login"]
        login["email"] = "bench-admin@example.com"
        login["password"] = AUTH_TEST_PASSWORD
        login.submit("submit", status=303)
        first = client.get(USERS)
        next_link = first.html.select_one("[data-admin=next]")
        # A page deep in the list: the cursor of a row near the end of the
        # email order, made as the list makes its own.
        deep = encode_cursor(
            (SortKey("email", False), SortKey("id", False)),
            SimpleNamespace(email="user-999000@example.com", id=999000),
        )
        cases = [
            ("first page", USERS),
            ("filtered (inactive)", f"{USERS}?f.is_active=0"),
            ("search", f"{USERS}?q=user-4242"),
            ("next page", next_link["href"] if next_link is not None else USERS),
            ("deep page", f"{USERS}?after={deep}"),
        ]
        print(f"\nadmin user list, {args.users:,} users: ms per request, {args.requests} requests")
        print(f"{'page':<22} {'p50':>8} {'p99':>8}  target")
        missed = []
        for name, page in cases:
            p50, p99 = timed(client, page, args.requests)
            target = ""
            if name in TARGET_PAGES:
                target = f"p50 < {TARGET_MS:.0f} ms: {'met' if p50 < TARGET_MS else 'NOT met'}"
                if p50 >= TARGET_MS:
                    missed.append(name)
            print(f"{name:<22} {p50:>8.1f} {p99:>8.1f}  {target}")
        print(
            f"\ncount shown: {' '.join(first.html.select_one('[data-admin=count]').text.split())}"
        )
        prefix_search_case(app, engine, args.requests)
        with engine.begin() as connection:
            seed_verified(connection)
        nullable_cases(app, args.users, args.requests)
        get_database(app.registry).engine.dispose()
        engine.dispose()
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
