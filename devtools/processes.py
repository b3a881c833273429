"""Ending a child process: politely, or the way a crash does."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

STOP_GRACE_SECONDS = 10


def kill(process: subprocess.Popen[Any] | None) -> None:
    """SIGKILL: no goodbye, no flush, exactly like a crashed host."""
    if process and process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(STOP_GRACE_SECONDS)


def stop(process: subprocess.Popen[Any] | None) -> None:
    """SIGTERM, and SIGKILL if it has not exited STOP_GRACE_SECONDS later."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            kill(process)
