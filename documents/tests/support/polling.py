"""Waiting in tests for a condition, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def until(condition: Callable[[], Any], what: str, timeout: float = 5.0) -> None:
    """Poll `condition` on the running loop until it holds; fail naming `what` after
    `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)
