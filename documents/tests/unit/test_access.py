"""A document socket's way in (`realtime/access.py`): the session's row and then the user with
their role, in two plain statements, by the same rules as Channels' `get_user` and Django's
database sessions. Each case runs on the reader thread's path and on the event loop's (batched,
`storage/access_reads.py`; on SQLite it falls back to the thread), and through Channels' own
path, and all must agree."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.auth import UserLazyObject, get_user
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from documents.models import Membership, Role
from documents.permissions import document_role_and_color
from documents.realtime.access import access, read_access
from documents.storage import access_reads, loop_connection, readers

# The event loop's reads use a connection of their own: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["thread", "loop"])
def path(request) -> str:
    return request.param


@pytest.fixture(autouse=True)
def readers_closed():
    yield
    readers.pool.close_connections()


async def on_a_loop(scope: dict[str, Any], document_id: Any) -> tuple[Any, ...]:
    """`read_access` on a loop of its own, whose connection is given back after."""
    try:
        return await read_access(scope, document_id)
    finally:
        await access_reads.reads.get().close()


def logged_in(user: Any, backend: str = "django.contrib.auth.backends.ModelBackend") -> str:
    """A saved session of `user`, as django.contrib.auth.login leaves it; its key."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = backend
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    assert store.session_key is not None
    return store.session_key


def scope_of(session_key: str | None) -> dict[str, Any]:
    """A socket's scope as the middleware leaves it: a lazy session and an unresolved user."""
    return {"session": SessionStore(session_key), "user": UserLazyObject()}


def through_channels(session_key: str | None, document_id: Any) -> tuple[Any, Any, Any]:
    """The same read by Channels' get_user and the role query: user id, role, colour."""
    scope = scope_of(session_key)
    user = get_user.func(scope)
    if not user.is_authenticated:
        return None, None, ""
    _, role, chosen = document_role_and_color(user, document_id)
    return user.pk, role, chosen


def read(
    session_key: str | None, document_id: Any, path: str = "thread"
) -> tuple[dict[str, Any], tuple[Any, ...]]:
    scope = scope_of(session_key)
    if path == "thread":
        return scope, access(scope, document_id)
    return scope, async_to_sync(on_a_loop)(scope, document_id)


@pytest.mark.parametrize(
    ("persona", "role"),
    [("owner", Role.OWNER), ("editor", Role.EDITOR), ("viewer", Role.VIEWER), ("stranger", None)],
)
def test_each_persona_is_read_in_two_statements_as_channels_reads_them(
    personas, document, persona, role, path, monkeypatch
):
    key = logged_in(personas[persona])
    statements = counted_statements(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        scope, (user, found, got_role, ident) = read(key, document.id, path)
    if path == "thread":
        assert (len(queries), len(statements)) == (2, 0)
    elif connection.vendor == "postgresql":
        assert (len(queries), len(statements)) == (0, 2)  # on the event loop's own connection
    assert user.pk == personas[persona].pk and user.is_authenticated
    assert got_role == role
    assert through_channels(key, document.id) == (user.pk, role, "")
    if role is not None:
        assert found.title == document.title and found.owner_id == personas["owner"].pk
        assert ident["name"] == persona.capitalize()
    else:
        assert found is None or persona == "stranger"
        assert ident == {}
    # The scope holds what was read: nothing reads it again.
    assert scope["user"].pk == user.pk
    with CaptureQueriesContext(connection) as again:
        assert scope["session"][SESSION_KEY] == str(user.pk)
    assert len(again) == 0


def counted_statements(monkeypatch) -> list[str]:
    """The statements the event loop's reads send."""
    sent: list[str] = []
    run = access_reads.AccessReads._run

    async def counted(self: Any, sql: str, params: list[Any]) -> Any:
        sent.append(sql)
        return await run(self, sql, params)

    monkeypatch.setattr(access_reads.AccessReads, "_run", counted)
    return sent


def test_the_chosen_caret_colour_comes_with_the_role(personas, document, path):
    from documents.models import Profile

    Profile.objects.create(user=personas["editor"], caret_color="#3cb44b")
    key = logged_in(personas["editor"])
    _, (_, _, _, ident) = read(key, document.id, path)
    assert ident["color"] == "#3cb44b"
    assert through_channels(key, document.id)[2] == "#3cb44b"


def test_an_expired_session_is_no_session_and_its_key_is_dropped(personas, document, path):
    key = logged_in(personas["editor"])
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    scope, (user, found, role, ident) = read(key, document.id, path)
    assert not user.is_authenticated and (found, role, ident) == (None, None, {})
    assert scope["session"].session_key is None
    assert through_channels(key, document.id) == (None, None, "")


def test_an_unknown_key_and_no_key_are_anonymous(document, path):
    for key in ("x" * 32, None):
        _, (user, found, role, _) = read(key, document.id, path)
        assert not user.is_authenticated and found is None and role is None


def test_a_tampered_session_is_anonymous(personas, document, path):
    key = logged_in(personas["owner"])
    Session.objects.filter(pk=key).update(session_data="not:signed:data")
    _, (user, _, role, _) = read(key, document.id, path)
    assert not user.is_authenticated and role is None
    assert through_channels(key, document.id) == (None, None, "")


def test_a_changed_password_flushes_the_session(personas, document, path):
    key = logged_in(personas["editor"])
    user = personas["editor"]
    user.set_password("another-horse-battery")
    user.save()
    _, (found_user, _, role, _) = read(key, document.id, path)
    assert not found_user.is_authenticated and role is None
    assert not Session.objects.filter(pk=key).exists()  # flushed, as Channels does


def test_an_inactive_user_is_anonymous(personas, document, path):
    key = logged_in(personas["editor"])
    type(personas["editor"]).objects.filter(pk=personas["editor"].pk).update(is_active=False)
    _, (user, _, role, _) = read(key, document.id, path)
    assert not user.is_authenticated and role is None
    assert through_channels(key, document.id) == (None, None, "")


def test_a_deleted_user_is_anonymous(personas, document, path):
    key = logged_in(personas["stranger"])
    personas["stranger"].delete()
    _, (user, _, _, _) = read(key, document.id, path)
    assert not user.is_authenticated


def test_a_backend_that_is_not_configured_is_anonymous(personas, document, path):
    key = logged_in(personas["owner"], backend="some.removed.Backend")
    _, (user, _, role, _) = read(key, document.id, path)
    assert not user.is_authenticated and role is None
    assert through_channels(key, document.id) == (None, None, "")


def test_another_configured_backend_takes_channels_path(personas, document, settings, path):
    backend = "documents.tests.unit.test_access.Backend"
    settings.AUTHENTICATION_BACKENDS = [backend, "django.contrib.auth.backends.ModelBackend"]
    key = logged_in(personas["editor"], backend=backend)
    Backend.calls = 0
    _, (user, _, role, _) = read(key, document.id, path)
    assert user.pk == personas["editor"].pk and role == Role.EDITOR
    assert Backend.calls == 1


def test_a_trashed_document_and_a_missing_one_are_not_found(personas, document, path):
    import uuid

    key = logged_in(personas["owner"])
    _, (user, found, role, _) = read(key, uuid.uuid4(), path)
    assert user.is_authenticated and found is None and role is None
    document.trashed_at = timezone.now()
    document.save(update_fields=["trashed_at"])
    _, (user, found, role, _) = read(key, document.id, path)
    assert user.is_authenticated and found is None and role is None


def test_a_membership_on_another_document_gives_no_role(personas, document, path):
    from documents.models import Document

    other = Document.objects.create(title="Other", owner=personas["owner"])
    Membership.objects.create(document=other, user=personas["stranger"], role=Role.EDITOR)
    key = logged_in(personas["stranger"])
    _, (_, _, role, _) = read(key, document.id, path)
    assert role is None
    _, (_, _, role, _) = read(key, other.id, path)
    assert role == Role.EDITOR


class Backend:
    """A project's own backend: ModelBackend's lookup, counted."""

    calls = 0

    def get_user(self, user_id: Any) -> Any:
        from django.contrib.auth.backends import ModelBackend

        Backend.calls += 1
        return ModelBackend().get_user(user_id)


def test_a_session_with_a_user_and_no_backend_is_anonymous(personas, document, path):
    store = SessionStore()
    store[SESSION_KEY] = str(personas["owner"].pk)
    store[HASH_SESSION_KEY] = personas["owner"].get_session_auth_hash()
    store.save()
    _, (user, _, role, _) = read(store.session_key, document.id, path)
    assert not user.is_authenticated and role is None
    assert through_channels(store.session_key, document.id) == (None, None, "")


# -- the event loop's batches (PostgreSQL) ----------------------------------------------------


@pytest.mark.usefixtures("integration")
def test_sockets_arriving_together_are_read_in_two_statements(
    django_user_model, personas, document, monkeypatch
):
    users = [
        django_user_model.objects.create(username=f"reader{i}", first_name=f"R{i}")
        for i in range(20)
    ]
    for user in users[::2]:
        Membership.objects.create(document=document, user=user, role=Role.VIEWER)
    keys = [logged_in(user) for user in users]
    keys[5] = logged_in(users[4])  # two tabs of one user, in one batch
    statements = counted_statements(monkeypatch)

    async def together() -> list[tuple[Any, ...]]:
        try:
            return await asyncio.gather(*(read_access(scope_of(key), document.id) for key in keys))
        finally:
            await access_reads.reads.get().close()

    results = async_to_sync(together)()
    assert len(statements) == 2
    for i, (user, _, role, ident) in enumerate(results):
        expected = users[4] if i == 5 else users[i]
        assert user.pk == expected.pk
        assert role == (Role.VIEWER if expected in users[::2] else None)
        assert ident == ({} if role is None else ident) and (role is None or ident["name"])


@pytest.mark.usefixtures("integration")
def test_a_read_that_finds_its_connection_broken_reads_again_on_a_new_one(
    personas, document, monkeypatch
):
    import psycopg

    key = logged_in(personas["editor"])
    statements = counted_statements(monkeypatch)

    async def around_a_kill() -> tuple[Any, ...]:
        reads = access_reads.reads.get()
        try:
            await read_access(scope_of(key), document.id)
            assert reads.conn.backend_pid is not None
            # The database ends the connection (a restart, an administrator)
            # while it sits idle: the reads do not know until they use it.
            async with await psycopg.AsyncConnection.connect(
                **loop_connection.connection_params(), autocommit=True
            ) as admin:
                await admin.execute("SELECT pg_terminate_backend(%s)", [reads.conn.backend_pid])
            del statements[:]
            return await read_access(scope_of(key), document.id)
        finally:
            await reads.close()

    user, _, role, _ = async_to_sync(around_a_kill)()
    assert user.pk == personas["editor"].pk and role == Role.EDITOR
    assert len(statements) == 3  # the session's, failed and sent again, then the user's


@pytest.mark.usefixtures("integration")
def test_a_database_that_refuses_fails_the_read_with_djangos_error(personas, document, monkeypatch):
    import socket

    from django.db import OperationalError

    key = logged_in(personas["editor"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        refused = probe.getsockname()[1]
    params = {**loop_connection.connection_params(), "host": "127.0.0.1", "port": refused}
    monkeypatch.setattr(loop_connection, "connection_params", lambda: params)
    with pytest.raises(OperationalError):
        async_to_sync(on_a_loop)(scope_of(key), document.id)


def test_a_user_read_without_a_document_gets_no_role(personas, path):
    key = logged_in(personas["owner"])
    _, (user, found, role, ident) = read(key, None, path)
    assert user.pk == personas["owner"].pk and (found, role, ident) == (None, None, {})
    scope = scope_of(key)
    if path == "thread":
        return
    user = async_to_sync(on_a_loop_user)(scope)
    assert user.pk == personas["owner"].pk and scope["user"].pk == user.pk
    assert not async_to_sync(on_a_loop_user)(scope_of(None)).is_authenticated


async def on_a_loop_user(scope: dict[str, Any]) -> Any:
    from documents.realtime.access import read_user

    try:
        return await read_user(scope)
    finally:
        await access_reads.reads.get().close()
