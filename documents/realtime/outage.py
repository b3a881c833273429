"""A socket that arrives while the database is away gets a close code, not a traceback.

Channels' auth middleware reads the session and the user before the consumer
runs; with PostgreSQL down that raises, Daphne logs "Exception inside
application" and the browser sees 1006. Wrapped in this, the handshake is
accepted and closed with SERVER_ERROR (4500), a code stock clients retry.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError

from documents.realtime.close_codes import CloseCode

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Any
Send = Any


class DatabaseOutageGuard:
    """ASGI middleware for WebSockets: a database error before accept closes with 4500."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        answered = False

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal answered
            if message["type"] in ("websocket.accept", "websocket.close"):
                answered = True
            await send(message)

        try:
            return await self.app(scope, receive, tracked_send)
        except DatabaseError as exc:
            if answered:
                raise  # the consumer's own business: it was already past the handshake
            logger.warning("socket path=%s refused: database unavailable: %s", scope["path"], exc)
            await send({"type": "websocket.accept"})
            await send(
                {"type": "websocket.close", "code": int(CloseCode.SERVER_ERROR), "reason": "busy"}
            )
