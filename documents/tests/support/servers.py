"""Real server processes that share this test run's database and Redis."""

from __future__ import annotations

import time
import urllib.request
import uuid

from django.conf import settings
from django.db import connection

from devtools.child_server import server_environment
from documents.web import throttle

# One prefix per test session keeps our channel-layer keys apart from anything
# else using the same Redis.
LAYER_PREFIX = f"collabtest{uuid.uuid4().hex[:8]}"
# What the servers count under; read before any test replaces it in this process.
SERVER_THROTTLE_NAMESPACE = throttle.NAMESPACE


def server_env(**collab: int | float) -> dict[str, str]:
    """Environment for a server process that shares this test's database and Redis."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return server_environment(url, settings.REDIS_URL or "", LAYER_PREFIX, **collab)


def clear_server_throttles() -> None:
    """Forget every count the servers keep (logins, sign-ups, mails per address or
    name): a server shared by tests would otherwise carry one test's attempts into
    the next, whose users have the same names and whose browser the same address."""
    import redis
    from django.core.cache import cache

    pattern = cache.make_key(f"{SERVER_THROTTLE_NAMESPACE}*")
    client = redis.Redis.from_url(str(settings.REDIS_URL))
    try:
        keys = list(client.scan_iter(pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def open_sockets(base_url: str) -> float:
    """Editors' sockets the server at `base_url` has open (its /metrics)."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("collab_open_sockets "):
                return float(line.split()[1])
    raise AssertionError(f"{base_url}/metrics has no collab_open_sockets")


def wait_sockets_closed(base_url: str, timeout: float = 10.0) -> None:
    """Until the server has let go of every editor's socket (their pages are closed)."""
    deadline = time.monotonic() + timeout
    while (count := open_sockets(base_url)) > 0:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the shared server still has {count:g} editor sockets open {timeout:g} s"
                " after the test closed its pages"
            )
        time.sleep(0.05)


def wait_no_open_transactions(timeout: float = 5.0) -> None:
    """Until no other connection to the test database sits inside a transaction.

    The database flush after each test truncates every table, which waits for
    the locks such a transaction holds: a server connection left in one would
    hang the run instead of failing this test with the statement to blame.
    """
    query = """
        SELECT pid, application_name, now() - state_change, query FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND state LIKE 'idle in transaction%%'
    """
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute(query)
            rows = cursor.fetchall()
        if not rows:
            return
        if time.monotonic() > deadline:
            held = "\n".join(f"pid {pid} ({app}) for {age}: {sql}" for pid, app, age, sql in rows)
            raise AssertionError(f"connections left inside a transaction:\n{held}")
        time.sleep(0.05)
