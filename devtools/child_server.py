"""The app's real server as a child process on a free loopback port.

For the test suite and the benchmarks, which both need `python -m
editor_project.server.serve` started against a given database and channel-layer
prefix, waited for until it listens, and stopped (or killed) again.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from devtools import processes
from devtools.paths import ROOT
from devtools.ports import free_port


def server_environment(
    database_url: str, redis_url: str, layer_prefix: str, **collab: float
) -> dict[str, str]:
    """This process's environment pointed at a database, Redis and prefix,
    with `COLLAB_<NAME>` overrides for documents.conf."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHANNEL_LAYER_PREFIX": layer_prefix,
        "DEBUG": "true",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        # Browser tests and benchmarks read the editor's state from `window`.
        "EDITOR_TEST_HOOKS": "true",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for key, value in collab.items():
        env[f"COLLAB_{key}"] = str(value)
    return env


class ChildServer:
    """One Daphne serving the app, its output appended to `log_path`."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        port: int | None = None,
        python_args: tuple[str, ...] = (),
    ) -> None:
        self.env = env
        self.log_path = log_path
        self.port = port or free_port()
        self.python_args = python_args  # e.g. ("-m", "cProfile", "-o", path)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 30.0) -> ChildServer:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    *self.python_args,
                    "-m",
                    "editor_project.server.serve",
                    "--port",
                    str(self.port),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not listen; see {self.log_path}") from None
                time.sleep(0.05)

    def running(self) -> bool:
        """Started and not exited."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no goodbye, no flush, exactly like a crashed host."""
        processes.kill(self.process)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not exited 10 s later."""
        processes.stop(self.process)

    def restart(self) -> ChildServer:
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
