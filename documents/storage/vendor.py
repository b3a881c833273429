"""Which database the default alias is, read without a connection handle.

`django.db.connection` is a handle per thread and, on the event loop, per
task: reading `connection.vendor` in a socket's task built a DatabaseWrapper
and its six helper objects for that socket alone (1,005 of them with 1,000
editors), each walked by every full garbage collection. The vendor is a class
attribute of the configured backend, so it is read from there.
"""

from __future__ import annotations

from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend


@cache
def default_vendor() -> str:
    """ "postgresql", "sqlite", …: the default database's `connection.vendor`."""
    engine = connections.settings[DEFAULT_DB_ALIAS]["ENGINE"]
    vendor: str = load_backend(engine).DatabaseWrapper.vendor
    return vendor


def on_postgresql() -> bool:
    return default_vendor() == "postgresql"
