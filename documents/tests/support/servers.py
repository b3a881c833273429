"""Real server processes that share this test run's database and Redis."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import connection

from devtools.child_server import server_environment

# One prefix per test session keeps our channel-layer keys apart from anything
# else using the same Redis.
LAYER_PREFIX = f"collabtest{uuid.uuid4().hex[:8]}"


def server_env(**collab: int | float) -> dict[str, str]:
    """Environment for a server process that shares this test's database and Redis."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return server_environment(url, settings.REDIS_URL or "", LAYER_PREFIX, **collab)
