"""Fixtures shared by the unit, integration and end-to-end tests.

Integration and end-to-end tests run on PostgreSQL and Redis (`make test`
provides them); without them those tests fail rather than quietly skip.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client

from editor_project.child_server import ChildServer, server_environment

ROOT = Path(__file__).resolve().parent
PASSWORD = "correct-horse-battery-staple"
# One prefix per test session keeps our channel-layer keys apart from anything
# else using the same Redis.
LAYER_PREFIX = f"collabtest{uuid.uuid4().hex[:8]}"


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


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(autouse=True)
def fresh_channel_layers() -> Iterator[None]:
    """A new channel layer per test: a Redis layer is bound to one event loop."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True, scope="session")
def test_layer_prefix() -> Iterator[None]:
    """Keep this session's channel-layer and presence keys apart in a shared Redis,
    and remove them afterwards (servers killed on purpose never leave their groups)."""
    config = settings.CHANNEL_LAYERS["default"].setdefault("CONFIG", {})
    if settings.REDIS_URL:
        config["prefix"] = LAYER_PREFIX
    yield
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(f"{LAYER_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def integration() -> None:
    """Fail loudly when the services integration tests need are not configured."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.fail(
            "integration tests need PostgreSQL and Redis: set DATABASE_URL and REDIS_URL, "
            "or run `make test`, which provides both"
        )


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once per session: the real hasher is slow on purpose."""
    return make_password(PASSWORD)


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


def session_cookie(user: Any) -> str:
    """A logged-in session for `user`, as a Cookie header value."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def server_env(**collab: int | float) -> dict[str, str]:
    """Environment for a server process that shares this test's database and Redis."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return server_environment(url, settings.REDIS_URL or "", LAYER_PREFIX, **collab)


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


@pytest.fixture
def daphne_server(server_factory: Callable[..., ChildServer]) -> ChildServer:
    """One real Daphne server for this test."""
    return server_factory()


@pytest.fixture
def cookies(personas: dict[str, Any]) -> dict[str, str]:
    """A logged-in session cookie for each persona."""
    return {name: session_cookie(user) for name, user in personas.items()}
