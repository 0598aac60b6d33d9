"""What the request path does to be cheap keeps Pyramid's and pyramid_tm's
behaviour: the lazy transaction manager, indexed URL dispatch and skipped
events nobody subscribes to."""

from __future__ import annotations

from typing import Any

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.events import NewResponse
from transaction.interfaces import AlreadyInTransaction, NoTransaction

from pyramidion.db import LazyTransactionManager
from pyramidion.request import skip_unobserved_events
from pyramidion.routing import literal_first_segment

# -- the lazy transaction manager ---------------------------------------------


def test_a_transaction_is_begun_only_when_asked_for() -> None:
    manager = LazyTransactionManager()
    begun: list[Any] = []

    class Synch:
        def newTransaction(self, txn: Any) -> None:
            begun.append(txn)

        def beforeCompletion(self, txn: Any) -> None:
            pass

        def afterCompletion(self, txn: Any) -> None:
            pass

    synch = Synch()
    manager.registerSynch(synch)
    pending = manager.begin()
    pending.note("/some/path")
    assert manager.in_transaction
    assert not manager.isDoomed()
    assert begun == []
    with pytest.raises(AlreadyInTransaction):
        manager.begin()

    txn = manager.get()

    assert begun == [txn]
    assert txn.description == "/some/path"
    assert manager.get() is txn
    manager.commit()
    assert not manager.in_transaction
    with pytest.raises(NoTransaction):
        manager.get()


class RecordingSynch:
    """A synchronizer that records what it is told."""

    def __init__(self) -> None:
        self.told: list[str] = []

    def newTransaction(self, txn: Any) -> None:
        self.told.append("new")

    def beforeCompletion(self, txn: Any) -> None:
        self.told.append("before")

    def afterCompletion(self, txn: Any) -> None:
        self.told.append("after")


def test_synchronizers_are_told_as_by_transaction_managers() -> None:
    # A request's manager makes no set of synchronizers until one is
    # registered; one registered while a transaction is under way is told
    # of its end, as transaction.TransactionManager tells it.
    before, during = LazyTransactionManager(), LazyTransactionManager()
    early, late = RecordingSynch(), RecordingSynch()

    before.registerSynch(early)
    before.begin()
    before.get()
    before.commit()
    during.begin()
    during.get()
    during.registerSynch(late)
    during.abort()

    assert early.told == ["new", "before", "after"]
    assert late.told == ["new", "before", "after"]
    assert before.registeredSynchs()
    assert not LazyTransactionManager().registeredSynchs()
    before.unregisterSynch(early)
    with pytest.raises(KeyError):
        before.unregisterSynch(early)
    with pytest.raises(KeyError):
        LazyTransactionManager().unregisterSynch(early)


def test_an_unused_transaction_commits_and_aborts_as_nothing() -> None:
    manager = LazyTransactionManager()
    manager.begin()
    manager.commit()
    manager.begin()
    manager.abort()
    with pytest.raises(NoTransaction):
        manager.commit()


def test_using_what_begin_returned_begins_the_transaction() -> None:
    manager = LazyTransactionManager()
    pending = manager.begin()
    committed: list[bool] = []

    pending.addAfterCommitHook(committed.append)
    pending.doom()

    assert manager.isDoomed()
    manager.abort()
    assert committed == []
    with manager as txn:
        txn.addAfterCommitHook(committed.append)
    assert committed == [True]


# -- indexed URL dispatch ----------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "segment"),
    [
        ("/auth/login", "auth"),
        ("auth/login", "auth"),
        ("/auth/{id}", "auth"),
        ("/auth", "auth"),
        ("/", ""),
        ("/auth{suffix}", None),
        ("/{name}/edit", None),
        ("/*traverse", None),
        ("/forms/static/*subpath", "forms"),
        ("/:name/old-style", None),
    ],
)
def test_literal_first_segment(pattern: str, segment: str | None) -> None:
    assert literal_first_segment(pattern) == segment


def _routed_app(routes: list[tuple[str, str]]) -> webtest.TestApp:
    with Configurator() as config:
        config.include("pyramidion.routing")
        for name, pattern in routes:
            config.add_route(name, pattern)
            config.add_view(
                lambda request: {"route": request.matched_route.name},
                route_name=name,
                renderer="json",
            )
        app = config.make_wsgi_app()
    return webtest.TestApp(app)


def test_the_first_route_added_that_matches_still_wins() -> None:
    app = _routed_app(
        [
            ("auth.one", "/auth/{id}"),
            ("catch", "/{section}/special"),
            ("auth.special", "/auth/special"),
            ("auth.prefix", "/auth{rest}"),
            ("root", "/"),
            ("tail", "/*rest"),
        ]
    )

    assert app.get("/auth/special").json == {"route": "auth.one"}
    assert app.get("/other/special").json == {"route": "catch"}
    assert app.get("/authority").json == {"route": "auth.prefix"}
    assert app.get("/").json == {"route": "root"}
    assert app.get("/nowhere/at/all").json == {"route": "tail"}


def test_routes_added_after_a_request_are_found() -> None:
    with Configurator() as config:
        config.include("pyramidion.routing")
        config.add_route("a", "/a")
        config.add_view(lambda r: {"route": "a"}, route_name="a", renderer="json")
        app = webtest.TestApp(config.make_wsgi_app())
        assert app.get("/a").json == {"route": "a"}
        config.add_route("b", "/b/{x}")
        config.add_view(lambda r: {"route": "b"}, route_name="b", renderer="json")
        config.commit()
    assert app.get("/b/1").json == {"route": "b"}


# -- events ----------------------------------------------------------------------


def test_a_subscriber_added_later_is_still_called() -> None:
    seen: list[str] = []
    with Configurator() as config:
        config.add_route("a", "/a")
        config.add_view(lambda r: {"ok": True}, route_name="a", renderer="json")
        config.add_subscriber(lambda event: seen.append("first"), NewResponse)
        app = config.make_wsgi_app()
    skip_unobserved_events(app.registry)
    testapp = webtest.TestApp(app)

    testapp.get("/a")
    assert seen == ["first"]
    config.add_subscriber(lambda event: seen.append("second"), NewResponse)
    config.commit()
    testapp.get("/a")

    assert seen == ["first", "first", "second"]


def test_the_lazy_manager_serves_requests_through_pyramid_tm() -> None:
    with Configurator(
        settings={"tm.manager_hook": "pyramidion.db.lazy_transaction_manager"}
    ) as config:
        config.include("pyramid_tm")

        def hooked(request: Any) -> dict[str, bool]:
            request.tm.get().addAfterCommitHook(lambda ok: committed.append(ok))
            return {"ok": True}

        config.add_route("hooked", "/hooked")
        config.add_view(hooked, route_name="hooked", renderer="json")
        app = webtest.TestApp(config.make_wsgi_app())
    committed: list[bool] = []

    app.get("/hooked")

    assert committed == [True]
