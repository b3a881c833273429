"""A document socket's way in: its session, its user and its role, in two statements.

Every socket reads all three before it is accepted. Through Channels'
`get_user` they were three queries, two of them built by the ORM (the
session's row, the user's row), then the role's: when 100 editors opened one
document at once, building those two was 15 % of the server's time. Here the
session's row is one plain statement, and the user's row comes with the
document, the membership and the profile in a second. On PostgreSQL both are
read on the event loop, batched with every other socket of the same turn
(`storage.access_reads`); on the embedded SQLite, on a reader thread.

The rules are Channels' (`channels.auth.get_user`) and Django's database
sessions' own: an expired or unknown session is no session (its key is
dropped), a session whose backend is not configured is anonymous, an inactive
user is anonymous, and a session whose auth hash no longer matches the user's
password is flushed. A session engine, user model or backend other than
Django's own (a project that configures its own) takes Channels' path.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from channels.auth import UserLazyObject
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore as DatabaseSession
from django.db import DEFAULT_DB_ALIAS, connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import LazyObject, empty

from documents.identity import identity
from documents.models import Document, Role
from documents.permissions import document_role_and_color, role_from_row
from documents.realtime.auth import user_of
from documents.storage import access_reads, readers, vendor
from documents.storage.access_reads import USER_FIELDS, UserRow, user_and_role_sql

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

Access = tuple[Any, Document | None, Role | None, dict[str, Any]]


async def read_user(scope: dict[str, Any]) -> Any:
    """The scope's user, resolved as `user_of` would (the events socket's way in)."""
    user, _, _, _ = await read_access(scope, None)
    return user


async def read_access(scope: dict[str, Any], document_id: UUID | None) -> Access:
    """The user, the document, the user's role on it and their identity (none for a stranger,
    nor without a document).

    The scope's session and user are resolved on the way, as `user_of` would.
    """
    session = _unread_session(scope)
    if not vendor.on_postgresql() or session is None:
        return await readers.read(access, scope, document_id)
    reads = access_reads.reads.get()
    key = session.session_key
    stored = None if key is None else await reads.session_data(key, timezone.now())
    data = _keep(session, stored)
    if data.get(BACKEND_SESSION_KEY, MODEL_BACKEND) != MODEL_BACKEND:
        return await readers.read(access, scope, document_id)  # Channels' path, session read
    user_id = _user_id(data)
    row = None if user_id is None else await reads.user_row(user_id, document_id)
    user, flush = _checked_user(data, row)
    if flush:
        await readers.read(session.flush)
    return _resolved(scope, user, document_id, row)


def access(scope: dict[str, Any], document_id: UUID | None) -> Access:
    """`read_access`, sync: one call on a reader thread."""
    session = _unread_session(scope)
    if session is not None:
        key = session.session_key
        data = _keep(session, None if key is None else _session_data(session, key))
        if data.get(BACKEND_SESSION_KEY, MODEL_BACKEND) == MODEL_BACKEND:
            user_id = _user_id(data)
            row = None if user_id is None else _user_row(user_id, document_id)
            user, flush = _checked_user(data, row)
            if flush:
                session.flush()
            return _resolved(scope, user, document_id, row)
    user = user_of(scope)
    if not user.is_authenticated or document_id is None:
        return user, None, None, {}
    return _with_identity(user, *document_role_and_color(user, document_id))


def _unread_session(scope: dict[str, Any]) -> DatabaseSession | None:
    """The scope's session if it is a database session not read yet, its user not resolved
    yet, and the user model Django's own."""
    session, user = scope.get("session"), scope["user"]
    # Channels' SessionMiddleware puts the store in a LazyObject.
    session = (
        session.__dict__.get("_wrapped", session) if isinstance(session, LazyObject) else session
    )
    if type(session) is not DatabaseSession or hasattr(session, "_session_cache"):
        return None
    if not isinstance(user, UserLazyObject) or user._wrapped is not empty:
        return None
    return session if settings.AUTH_USER_MODEL == "auth.User" else None


def _keep(session: DatabaseSession, stored: str | None) -> dict[str, Any]:
    """What `session.load()` makes of the stored data (None: no such session, or expired),
    kept by the session as its own."""
    if stored is None:
        data: dict[str, Any] = {}
        session._session_key = None  # as `load` does: the next save starts a new session
    else:
        data = session.decode(stored)  # a bad signature decodes as {}
    session._session_cache = data  # type: ignore[attr-defined]  # what SessionBase reads first
    return data


def _user_id(data: dict[str, Any]) -> Any:
    """The session's user id; None when it has no user, no backend, or one not configured."""
    if data.get(BACKEND_SESSION_KEY) != MODEL_BACKEND or SESSION_KEY not in data:
        return None
    if MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        return None
    return get_user_model()._meta.pk.to_python(data[SESSION_KEY])  # type: ignore[union-attr]


def _checked_user(data: dict[str, Any], row: UserRow | None) -> tuple[Any, bool]:
    """The row's user if they may be the session's (else None), and whether to flush it."""
    if row is None:
        return None, False
    user = get_user_model().from_db(DEFAULT_DB_ALIAS, list(USER_FIELDS), row[: len(USER_FIELDS)])
    user.is_active = bool(user.is_active)
    if not ModelBackend().user_can_authenticate(user):
        return None, False
    session_hash = data.get(HASH_SESSION_KEY)
    if not (session_hash and constant_time_compare(session_hash, user.get_session_auth_hash())):
        return None, True  # as Channels does: a changed password ends the session
    return user, False


def _resolved(
    scope: dict[str, Any], user: Any, document_id: UUID | None, row: UserRow | None
) -> Access:
    """The scope's user set, and what the socket learns from the row."""
    scope["user"]._wrapped = user = user or AnonymousUser()
    if row is None or not user.is_authenticated or document_id is None:
        return user, None, None, {}
    return _with_identity(user, *role_from_row(user.pk, document_id, row[len(USER_FIELDS) :]))


def _with_identity(user: Any, document: Document | None, role: Role | None, chosen: str) -> Access:
    return user, document, role, identity(user, chosen) if role is not None else {}


def _session_data(session: DatabaseSession, key: str) -> str | None:
    table = connection.ops.quote_name(session.model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
            [key, timezone.now()],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def _user_row(user_id: Any, document_id: UUID | None) -> UserRow | None:
    """As `AccessReads.user_row`, on Django's connection."""
    sql = user_and_role_sql(batched=False)
    key = Document._meta.pk.get_db_prep_value(document_id, connection)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, user_id])
        row: UserRow | None = cursor.fetchone()
    return row
