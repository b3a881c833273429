"""The fault suite's own PostgreSQL cluster and Redis server, on free loopback ports, which it
may stop, kill and start again at will (the machine's own services are never touched)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from devtools.services import start_postgres, start_redis


class ThrowawayPostgres:
    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.url, stop = start_postgres(self.workdir)
        # start_postgres hands back `[runuser...] pg_ctl -D DATA -m immediate stop`.
        self._pg_ctl = stop[: stop.index("-m")]
        self.port = int(urlsplit(self.url).port or 0)
        self.running = True

    def stop(self, mode: str) -> None:
        """`pg_ctl stop -m immediate` (a crash: no checkpoint, backends die) or `-m fast`."""
        subprocess.run([*self._pg_ctl, "-m", mode, "-w", "stop"], check=True, capture_output=True)
        self.running = False

    def start(self) -> None:
        # `restart` of a stopped cluster starts it with the options of its last start
        # (postmaster.opts): the same port, socket directory and settings.
        subprocess.run(
            [*self._pg_ctl, "-w", "-l", str(self.workdir / "pg.log"), "restart"],
            check=True,
            capture_output=True,
        )
        self.running = True

    def close(self) -> None:
        if self.running:
            subprocess.run(
                [*self._pg_ctl, "-m", "immediate", "stop"], check=False, capture_output=True
            )
            self.running = False
        shutil.rmtree(self.workdir, ignore_errors=True)


class ThrowawayRedis:
    def __init__(self) -> None:
        self.url, self.process = start_redis()
        self.port = int(urlsplit(self.url).port or 0)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def start(self) -> None:
        """Again on the same port, empty (it never saves), as after a crash without persistence."""
        _, self.process = start_redis(self.port)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
