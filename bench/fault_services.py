"""The fault suite's own PostgreSQL cluster and Redis server, on free loopback ports, which it
may stop, kill and start again at will (the machine's own services are never touched)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from devtools.services import ThrowawayRedis as ThrowawayRedis
from devtools.services import start_postgres


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


def close_services(pg: ThrowawayPostgres, redis: ThrowawayRedis, tmp: Path, keep: bool) -> None:
    """The end of a run: this process's connections, both services, the temp files unless kept."""
    from django.db import connections

    from bench.common import log

    connections.close_all()
    redis.stop()
    pg.close()
    if keep:
        log(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
