"""Channels' session authentication, with the user read by the consumer itself.

Channels' AuthMiddleware reads the session and the user through the ORM's one
shared worker thread before the consumer runs. Here the middleware only puts
an unresolved user into the scope; the consumer resolves it on a reader
thread (`storage.readers`), in the same trip as whatever else it reads on its
way in. The document socket reads the user and its role on the document in one
call: as two, 100 editors opening one document at once queued all their user
reads ahead of every role read, and each paid a thread hop of its own.

The rules are Channels' own (`get_user`: the session's user, its auth hash
verified); anything that reads `scope["user"]` before it is resolved gets
Channels' "not ready" error instead of a user.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddleware, UserLazyObject, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.utils.functional import empty

from documents.storage import readers


class DeferredAuthMiddleware(AuthMiddleware):
    """Leave scope["user"] for the consumer to resolve (`user_of`, `resolve_user`)."""

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        return None


def user_of(scope: dict[str, Any]) -> Any:
    """The scope's user, read from its session if nobody has yet (sync: on a reader thread)."""
    user = scope["user"]
    if isinstance(user, UserLazyObject) and user._wrapped is empty:
        user._wrapped = get_user.func(scope)
    return user


async def resolve_user(scope: dict[str, Any]) -> Any:
    """`user_of` on a reader thread."""
    return await readers.read(user_of, scope)


def auth_middleware_stack(inner: Any) -> Any:
    """Cookies, session and user, as channels.auth.AuthMiddlewareStack builds them."""
    return CookieMiddleware(SessionMiddleware(DeferredAuthMiddleware(inner)))
