"""Reads on threads of their own: a socket's way in on SQLite, the events socket's user, the
comments' roles.

On the ORM's one shared worker thread they ran one after another: 100 editors
opening a document at once waited in line for 200 calls of a few round trips
each. Four threads run them side by side. (On PostgreSQL a document socket's
way in is read on the event loop instead: `access_reads.py`.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from documents.storage.threads import DatabaseThreads

P = ParamSpec("P")
R = TypeVar("R")

pool = DatabaseThreads(threads=4, idle_seconds=10.0, reads=True)


async def read(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a sync read on the process's reader threads."""
    return await pool.run(func, *args, **kwargs)
