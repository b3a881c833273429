"""Channels' session authentication, with the user read by the consumer itself.

Channels' AuthMiddleware reads the session and the user through the ORM's one
shared worker thread before the consumer runs. Here the middleware only puts
an unresolved user into the scope; the consumer resolves it with whatever
else it reads on its way in (`realtime/access.py`: the document socket reads
the user and its role on the document together, batched with the other
sockets arriving at the same time).

The rules are Channels' own (`get_user`: the session's user, its auth hash
verified); anything that reads `scope["user"]` before it is resolved gets
Channels' "not ready" error instead of a user.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddleware, UserLazyObject, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.utils.functional import empty


class DeferredAuthMiddleware(AuthMiddleware):
    """Leave scope["user"] for the consumer to resolve (`user_of`, `access.read_user`)."""

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        return None


def user_of(scope: dict[str, Any]) -> Any:
    """The scope's user, read from its session if nobody has yet (sync: on a reader thread)."""
    user = scope["user"]
    if isinstance(user, UserLazyObject) and user._wrapped is empty:
        user._wrapped = get_user.func(scope)
    return user


def auth_middleware_stack(inner: Any) -> Any:
    """Cookies, session and user, as channels.auth.AuthMiddlewareStack builds them."""
    return CookieMiddleware(SessionMiddleware(DeferredAuthMiddleware(inner)))
