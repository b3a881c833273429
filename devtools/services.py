"""Run a command with PostgreSQL, Redis and Chromium available.

    python -m devtools.services -- pytest ...

DATABASE_URL and REDIS_URL are used as given when set (CI points them at the
machine's services, and a missing service then fails the run). Otherwise a
throwaway PostgreSQL cluster and Redis server are started on free loopback
ports for the duration of the command, installing the Debian packages first
when they are missing, as is Chromium for the browser tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Self

from devtools import processes
from devtools.ports import free_port, wait_for_port


def apt_install(*packages: str) -> None:
    print(f"installing {' '.join(packages)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def start_postgres(workdir: Path) -> tuple[str, list[str]]:
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        apt_install("postgresql")
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bindir = Path(binaries[-1]).parent
    data = workdir / "pg"
    data.mkdir()
    port = free_port()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-w",
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(workdir / "pg.log"),
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stop = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
    return f"postgres://postgres@127.0.0.1:{port}/postgres", stop


def start_redis(port: int | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """A redis-server without persistence on `port` (a free one by default); its URL and process."""
    if shutil.which("redis-server") is None:
        apt_install("redis-server")
    port = port or free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return f"redis://127.0.0.1:{port}/0", process


class ThrowawayRedis:
    """A redis-server on a free loopback port, without persistence, like a cache.

    Restarted on the same port it comes back empty: no groups, no messages,
    no who-is-online, as a production Redis without persistence would.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Self:
        """Start it (again, after `kill`: on the same port, empty)."""
        _, self.process = start_redis(self.port)
        return self

    def kill(self) -> None:
        """SIGKILL: connections reset, everything in memory gone."""
        processes.kill(self.process)

    def stop(self) -> None:
        processes.stop(self.process)


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__)
        return 2
    if not Path("/usr/bin/chromium").exists():
        apt_install("chromium")
    env = dict(os.environ)
    stops: list[list[str]] = []
    processes: list[subprocess.Popen[bytes]] = []
    workdir = Path(tempfile.mkdtemp(prefix="collab-services-"))
    try:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"], stop = start_postgres(workdir)
            stops.append(stop)
            print(f"throwaway PostgreSQL at {env['DATABASE_URL']}", flush=True)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"], redis = start_redis()
            processes.append(redis)
            print(f"throwaway Redis at {env['REDIS_URL']}", flush=True)
        return subprocess.call(argv, env=env)
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        for stop in stops:
            subprocess.run(stop, stdout=subprocess.DEVNULL, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
