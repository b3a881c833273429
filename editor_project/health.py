"""`GET /healthz`: can this process serve editors right now?

For load balancers and container health checks. It answers 200 only when the
database answers a query and a message makes a round trip through the channel
layer (Redis in production), the two things an editor's socket depends on;
503 otherwise, naming the failing part but not the error's text. It needs no
login and reveals nothing about documents.

It also counts the quarantined updates (stored updates that could not be
applied, skipped by every load; see documents/storage/store.py) so that
monitoring notices them. They do not make the process unhealthy: the
documents still load. The count is null when the database cannot say.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


def _query_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _count_quarantined() -> int:
    # Served by a partial index over the quarantined rows alone.
    from documents.models import DocumentUpdate

    return DocumentUpdate.objects.filter(quarantined=True).count()


async def _quarantined_updates() -> int | None:
    try:
        return await asyncio.wait_for(
            database_sync_to_async(_count_quarantined)(), CHECK_TIMEOUT_SECONDS
        )
    except Exception as exc:
        logger.warning("health check could not count quarantined updates: %r", exc)
        return None


async def _round_trip_channel_layer() -> None:
    layer: Any = get_channel_layer()
    channel = await layer.new_channel("health.")
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("the channel layer returned another message")


async def _check(name: str, probe: Any) -> str:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("health check %s failed: %r", name, exc)
        return f"failing: {type(exc).__name__}"
    return "ok"


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": await _check("database", database_sync_to_async(_query_database)),
        "channel_layer": await _check("channel_layer", _round_trip_channel_layer),
    }
    healthy = all(state == "ok" for state in checks.values())
    quarantined = await _quarantined_updates() if checks["database"] == "ok" else None
    return JsonResponse(
        {"status": "ok" if healthy else "failing", **checks, "quarantined_updates": quarantined},
        status=200 if healthy else 503,
    )
