"""The reads on a socket's way in: its session, its user, its role.

Every socket reads them before it is accepted. On the ORM's one shared worker
thread they ran one after another: 100 editors opening a document at once
waited in line for 200 calls of a few round trips each. Four threads run them
side by side.
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
