"""A document socket's way in: its session, its user and its role, in two statements.

Every socket reads all three before it is accepted, on a reader thread
(`storage.readers`). Through Channels' `get_user` they were three queries, two
of them built by the ORM: the session's row, the user's row, then the role.
When 100 editors opened one document at once, building those two queries was
15 % of the server's time, and the reader threads held the GIL away from the
event loop that was accepting the same sockets. Here the session's row is one
plain statement, and the user's row comes with the document, the membership
and the profile in a second.

The rules are Channels' (`channels.auth.get_user`) and Django's database
sessions' own: an expired or unknown session is no session (its key is
dropped), a session whose backend is not configured is anonymous, an inactive
user is anonymous, and a session whose auth hash no longer matches the user's
password is flushed. A session engine or backend other than those (a project
that configures its own) takes Channels' own path, unchanged.
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
from django.utils.functional import empty

from documents.identity import identity
from documents.models import Document, Membership, Profile, Role
from documents.permissions import document_role_and_color, role_from_row
from documents.realtime.auth import user_of

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# Django's own user's fields that a socket uses (its id, names, the password its session's
# hash is checked against, whether it may log in); the rest load if read.
USER_FIELDS = ("id", "password", "username", "first_name", "last_name", "is_active")

Access = tuple[Any, Document | None, Role | None, dict[str, Any]]


def access(scope: dict[str, Any], document_id: UUID) -> Access:
    """The user, the document, the user's role on it and their identity (none for a stranger).

    Sync: one call on a reader thread. The scope's session and user are
    resolved on the way, as `user_of` would.
    """
    session = _unread_session(scope)
    lazy = scope["user"]
    if session is not None and isinstance(lazy, UserLazyObject) and lazy._wrapped is empty:
        data = _load_session(session)
        if data.get(BACKEND_SESSION_KEY) == MODEL_BACKEND:
            user, document, role, chosen = _user_and_role(session, data, document_id)
            lazy._wrapped = user
            return _with_identity(user, document, role, chosen)
    user = user_of(scope)
    if not user.is_authenticated:
        return user, None, None, {}
    return _with_identity(user, *document_role_and_color(user, document_id))


def _unread_session(scope: dict[str, Any]) -> DatabaseSession | None:
    """The scope's session if it is a database session not read yet, with Django's own user."""
    session = scope.get("session")
    if type(session) is not DatabaseSession or hasattr(session, "_session_cache"):
        return None
    return session if settings.AUTH_USER_MODEL == "auth.User" else None


def _with_identity(user: Any, document: Document | None, role: Role | None, chosen: str) -> Access:
    if not user.is_authenticated:
        return user, None, None, {}
    return user, document, role, identity(user, chosen) if role is not None else {}


def _load_session(session: DatabaseSession) -> dict[str, Any]:
    """What `session.load()` reads, with one plain statement; the session keeps it."""
    data: dict[str, Any] = {}
    key = session.session_key
    if key is not None:
        table = connection.ops.quote_name(session.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
                [key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            session._session_key = None  # as `load` does: the next save starts a new session
        else:
            data = session.decode(row[0])  # a bad signature decodes as {}
    session._session_cache = data  # type: ignore[attr-defined]  # what SessionBase reads first
    return data


def _user_and_role(
    session: DatabaseSession, data: dict[str, Any], document_id: UUID
) -> tuple[Any, Document | None, Role | None, str]:
    """The session's user (anonymous when it may not be) and their role and caret colour."""
    anonymous = AnonymousUser(), None, None, ""
    if MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS or SESSION_KEY not in data:
        return anonymous
    user_model = get_user_model()
    user_id = user_model._meta.pk.to_python(data[SESSION_KEY])
    row = _user_row(user_model, user_id, document_id)
    if row is None:
        return anonymous
    values, role_row = row[: len(USER_FIELDS)], row[len(USER_FIELDS) :]
    user = user_model.from_db(DEFAULT_DB_ALIAS, list(USER_FIELDS), values)
    user.is_active = bool(user.is_active)
    if not ModelBackend().user_can_authenticate(user):
        return anonymous
    session_hash = data.get(HASH_SESSION_KEY)
    if not (session_hash and constant_time_compare(session_hash, user.get_session_auth_hash())):
        session.flush()  # as Channels does: a changed password ends the session
        return anonymous
    return (user, *role_from_row(user.pk, document_id, role_row))


def _user_row(user_model: Any, user_id: Any, document_id: UUID) -> tuple[Any, ...] | None:
    """The user's fields, then the document's owner and title (NULL when it does not exist or
    is in the trash), the user's membership role and their chosen caret colour."""
    quote = connection.ops.quote_name
    meta = user_model._meta
    columns = ", ".join(f"u.{quote(meta.get_field(name).column)}" for name in USER_FIELDS)
    sql = (
        f"SELECT {columns}, d.owner_id, d.title, m.role, p.caret_color "
        f"FROM {quote(meta.db_table)} u "
        f"LEFT JOIN {quote(Document._meta.db_table)} d "
        f"ON d.id = %s AND d.trashed_at IS NULL "
        f"LEFT JOIN {quote(Membership._meta.db_table)} m "
        f"ON m.document_id = d.id AND m.user_id = u.{quote(meta.pk.column)} "
        f"LEFT JOIN {quote(Profile._meta.db_table)} p ON p.user_id = u.{quote(meta.pk.column)} "
        f"WHERE u.{quote(meta.pk.column)} = %s"
    )
    key = Document._meta.pk.get_db_prep_value(document_id, connection)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, user_id])
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row
