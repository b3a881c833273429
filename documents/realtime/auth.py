"""Channels' session authentication, with its reads on the reader threads.

Channels' AuthMiddleware reads the session and the user through the ORM's one
shared worker thread; here they run on `storage.readers`, side by side with
other sockets' reads. The rules are Channels' own (`get_user`: the session's
user, its auth hash verified).
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware

from documents.storage import readers


class ReaderAuthMiddleware(AuthMiddleware):
    """Populate scope["user"] from the session, reading on the reader threads."""

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        scope["user"]._wrapped = await readers.read(get_user.func, scope)


def auth_middleware_stack(inner: Any) -> Any:
    """Cookies, session and user, as channels.auth.AuthMiddlewareStack builds them."""
    return CookieMiddleware(SessionMiddleware(ReaderAuthMiddleware(inner)))
