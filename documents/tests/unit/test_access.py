"""A document socket's way in (`realtime/access.py`): the session's row and then the user with
their role, in two plain statements, by the same rules as Channels' `get_user` and Django's
database sessions. Each case is also run through Channels' own path, and both must agree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from channels.auth import UserLazyObject, get_user
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from documents.models import Membership, Role
from documents.permissions import document_role_and_color
from documents.realtime.access import access

pytestmark = pytest.mark.django_db


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


def read(session_key: str | None, document_id: Any) -> tuple[dict[str, Any], tuple[Any, ...]]:
    scope = scope_of(session_key)
    return scope, access(scope, document_id)


@pytest.mark.parametrize(
    ("persona", "role"),
    [("owner", Role.OWNER), ("editor", Role.EDITOR), ("viewer", Role.VIEWER), ("stranger", None)],
)
def test_each_persona_is_read_in_two_statements_as_channels_reads_them(
    personas, document, persona, role
):
    key = logged_in(personas[persona])
    with CaptureQueriesContext(connection) as queries:
        scope, (user, found, got_role, ident) = read(key, document.id)
    assert len(queries) == 2
    assert user.pk == personas[persona].pk and user.is_authenticated
    assert got_role == role
    assert (found is not None) == (role is not None) or persona == "stranger"
    assert through_channels(key, document.id) == (user.pk, role, "")
    if role is not None:
        assert found.title == document.title and found.owner_id == personas["owner"].pk
        assert ident["name"] == persona.capitalize()
    else:
        assert ident == {}
    # The scope holds what was read: nothing reads it again.
    assert scope["user"].pk == user.pk
    with CaptureQueriesContext(connection) as again:
        assert scope["session"][SESSION_KEY] == str(user.pk)
    assert len(again) == 0


def test_the_chosen_caret_colour_comes_with_the_role(personas, document):
    from documents.models import Profile

    Profile.objects.create(user=personas["editor"], caret_color="#3cb44b")
    key = logged_in(personas["editor"])
    _, (_, _, _, ident) = read(key, document.id)
    assert ident["color"] == "#3cb44b"
    assert through_channels(key, document.id)[2] == "#3cb44b"


def test_an_expired_session_is_no_session_and_its_key_is_dropped(personas, document):
    key = logged_in(personas["editor"])
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    scope, (user, found, role, ident) = read(key, document.id)
    assert not user.is_authenticated and (found, role, ident) == (None, None, {})
    assert scope["session"].session_key is None
    assert through_channels(key, document.id) == (None, None, "")


def test_an_unknown_key_and_no_key_are_anonymous(document):
    for key in ("x" * 32, None):
        _, (user, found, role, _) = read(key, document.id)
        assert not user.is_authenticated and found is None and role is None


def test_a_tampered_session_is_anonymous(personas, document):
    key = logged_in(personas["owner"])
    Session.objects.filter(pk=key).update(session_data="not:signed:data")
    _, (user, _, role, _) = read(key, document.id)
    assert not user.is_authenticated and role is None
    assert through_channels(key, document.id) == (None, None, "")


def test_a_changed_password_flushes_the_session(personas, document):
    key = logged_in(personas["editor"])
    user = personas["editor"]
    user.set_password("another-horse-battery")
    user.save()
    _, (found_user, _, role, _) = read(key, document.id)
    assert not found_user.is_authenticated and role is None
    assert not Session.objects.filter(pk=key).exists()  # flushed, as Channels does


def test_an_inactive_user_is_anonymous(personas, document):
    key = logged_in(personas["editor"])
    type(personas["editor"]).objects.filter(pk=personas["editor"].pk).update(is_active=False)
    _, (user, _, role, _) = read(key, document.id)
    assert not user.is_authenticated and role is None
    assert through_channels(key, document.id) == (None, None, "")


def test_a_deleted_user_is_anonymous(personas, document):
    key = logged_in(personas["stranger"])
    personas["stranger"].delete()
    _, (user, _, _, _) = read(key, document.id)
    assert not user.is_authenticated


def test_a_backend_that_is_not_configured_is_anonymous(personas, document):
    key = logged_in(personas["owner"], backend="some.removed.Backend")
    _, (user, _, role, _) = read(key, document.id)
    assert not user.is_authenticated and role is None
    assert through_channels(key, document.id) == (None, None, "")


def test_another_configured_backend_takes_channels_path(personas, document, settings):
    backend = "documents.tests.unit.test_access.Backend"
    settings.AUTHENTICATION_BACKENDS = [backend, "django.contrib.auth.backends.ModelBackend"]
    key = logged_in(personas["editor"], backend=backend)
    Backend.calls = 0
    _, (user, _, role, _) = read(key, document.id)
    assert user.pk == personas["editor"].pk and role == Role.EDITOR
    assert Backend.calls == 1


def test_a_trashed_document_and_a_missing_one_are_not_found(personas, document):
    import uuid

    key = logged_in(personas["owner"])
    _, (user, found, role, _) = read(key, uuid.uuid4())
    assert user.is_authenticated and found is None and role is None
    document.trashed_at = timezone.now()
    document.save(update_fields=["trashed_at"])
    _, (user, found, role, _) = read(key, document.id)
    assert user.is_authenticated and found is None and role is None


def test_a_membership_on_another_document_gives_no_role(personas, document):
    from documents.models import Document

    other = Document.objects.create(title="Other", owner=personas["owner"])
    Membership.objects.create(document=other, user=personas["stranger"], role=Role.EDITOR)
    key = logged_in(personas["stranger"])
    _, (_, _, role, _) = read(key, document.id)
    assert role is None
    _, (_, _, role, _) = read(key, other.id)
    assert role == Role.EDITOR


class Backend:
    """A project's own backend: ModelBackend's lookup, counted."""

    calls = 0

    def get_user(self, user_id: Any) -> Any:
        from django.contrib.auth.backends import ModelBackend

        Backend.calls += 1
        return ModelBackend().get_user(user_id)
