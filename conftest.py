"""Fixtures shared by the unit, integration and end-to-end tests.

Integration and end-to-end tests run on PostgreSQL and Redis (`make test`
provides them); without them those tests fail rather than quietly skip.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from devtools.child_server import ChildServer
from devtools.paths import ROOT
from devtools.server_pool import LentServer, ServerPool
from documents.tests.support.flush import flush_with_delete
from documents.tests.support.servers import (
    LAYER_PREFIX,
    clear_server_throttles,
    server_env,
    wait_no_open_transactions,
    wait_sockets_closed,
)
from documents.tests.support.sessions import password_hash, session_cookie

_POOL = pytest.StashKey[ServerPool]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "private_server: the test's server is its own, not one shared with other tests"
        " (it kills or restarts it, say)",
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    pool = config.stash.get(_POOL, None)
    if pool is not None:
        terminalreporter.write_line(
            f"shared servers: {pool.started} started for {pool.lent} tests ({pool.log_dir})"
        )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in
    this thread until the session ends, and async tests cannot start one then."""
    e2e = ROOT / "e2e"
    items.sort(key=lambda item: e2e in Path(str(item.path)).resolve().parents)


@pytest.fixture(scope="session")
def django_db_modify_db_settings() -> None:
    """A PostgreSQL test database of this run's own: two test runs on one
    machine at once would otherwise drop and recreate each other's."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True, scope="session")
def quick_flush() -> Iterator[None]:
    """The database emptied after each transactional test with DELETE, not
    TRUNCATE: the same empty tables, 0.2 s sooner (support/flush.py)."""
    with flush_with_delete():
        yield


@pytest.fixture(autouse=True)
def fresh_channel_layers() -> Iterator[None]:
    """A new channel layer per test: a Redis layer is bound to one event loop."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True, scope="session")
def test_layer_prefix() -> Iterator[None]:
    """Keep this session's channel-layer, presence and cache keys apart in a shared
    Redis, and remove them afterwards (servers killed on purpose never leave their
    groups). The server processes get the same prefix (`server_env`); without it
    here, throttle counters this process keeps would add up over runs."""
    from django.core.cache import caches

    config = settings.CHANNEL_LAYERS["default"].setdefault("CONFIG", {})
    if settings.REDIS_URL:
        config["prefix"] = LAYER_PREFIX
        settings.CACHES["default"]["KEY_PREFIX"] = LAYER_PREFIX
        with contextlib.suppress(AttributeError):  # not opened yet
            del caches["default"]
    yield
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(f"{LAYER_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(autouse=True)
def fresh_throttles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counters of this test's own: logins, sign-ups and mails from one address
    would otherwise add up over a run."""
    from documents.web import throttle

    monkeypatch.setattr(throttle, "NAMESPACE", f"throttle-test-{uuid.uuid4().hex}:")


@pytest.fixture
def integration() -> None:
    """Fail loudly when the services integration tests need are not configured."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.fail(
            "integration tests need PostgreSQL and Redis: set DATABASE_URL and REDIS_URL, "
            "or run `make test`, which provides both"
        )


@pytest.fixture
def personas(django_user_model: Any) -> dict[str, Any]:
    """Owner, editor, viewer and stranger, with one shared password."""
    return {
        name: django_user_model.objects.create(
            username=name, password=password_hash(), first_name=name.capitalize()
        )
        for name in ("owner", "editor", "viewer", "stranger")
    }


@pytest.fixture
def document(personas: dict[str, Any]) -> Any:
    """A fresh document owned by `owner`, shared with `editor` and `viewer`."""
    from documents.models import Document, Membership, Role

    doc = Document.objects.create(title="Test document", owner=personas["owner"])
    Membership.objects.create(document=doc, user=personas["editor"], role=Role.EDITOR)
    Membership.objects.create(document=doc, user=personas["viewer"], role=Role.VIEWER)
    return doc


@pytest.fixture
def server_factory(
    transactional_db: None, integration: None, tmp_path: Path
) -> Iterator[Callable[..., ChildServer]]:
    """Start real Daphne processes on PostgreSQL and Redis; all stopped afterwards."""
    servers: list[ChildServer] = []

    def start(**collab: int | float) -> ChildServer:
        server = ChildServer(server_env(**collab), tmp_path / f"server-{len(servers)}.log")
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def server_pool(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerPool]:
    """Servers shared by the tests that start one with the same environment.

    After django_db_setup, so they are stopped before the test database is
    dropped (their connections would keep it from being dropped)."""
    pool = ServerPool(tmp_path_factory.mktemp("server-pool"))
    request.config.stash[_POOL] = pool
    yield pool
    pool.close()


@pytest.fixture
def shared_server(
    transactional_db: None,
    integration: None,
    server_pool: ServerPool,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Callable[[dict[str, str]], ChildServer | LentServer]]:
    """A running server for this test, started with the given environment: one
    shared with other tests, or its own for a test marked `private_server`.

    Each test still gets an empty database (the flush after it), its own
    users and documents (new keys: the flush does not reset sequences), and
    fresh throttle counts. Before the flush, the server has closed every
    editor's socket of this test and holds no transaction open."""
    private = request.node.get_closest_marker("private_server") is not None
    servers: list[ChildServer] = []
    lent: list[LentServer] = []

    def start(env: dict[str, str]) -> ChildServer | LentServer:
        log_path = tmp_path / f"server-{len(servers) + len(lent)}.log"
        clear_server_throttles()
        if private:
            server = ChildServer(env, log_path)
            servers.append(server)
            return server.start()
        server_lent = server_pool.lend(env, log_path)
        lent.append(server_lent)
        return server_lent

    yield start
    for server in servers:
        server.stop()
    failures: list[str] = []
    for server_lent in lent:
        try:
            if server_lent.alive():
                wait_sockets_closed(server_lent.url)
        except (AssertionError, OSError) as exc:
            failures.append(str(exc))
        try:
            server_pool.give_back(server_lent)
        except RuntimeError as exc:
            failures.append(str(exc))
    if lent:
        wait_no_open_transactions()
    assert not failures, "\n".join(failures)


@pytest.fixture
def daphne_server(server_factory: Callable[..., ChildServer]) -> ChildServer:
    """One real Daphne server for this test."""
    return server_factory()


@pytest.fixture
def cookies(personas: dict[str, Any]) -> dict[str, str]:
    """A logged-in session cookie for each persona."""
    return {name: session_cookie(user) for name, user in personas.items()}
