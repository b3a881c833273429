"""The services a run uses: its throwaway PostgreSQL database, its Redis keys, and the server
under test (`python -m editor_project.server.serve` on a free port)."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import ROOT
from bench.procstat import proc_status_kb
from devtools.child_server import ChildServer

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def pg_admin() -> Any:
    import psycopg

    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    )


def create_database(name: str, template: str | None = None) -> None:
    from psycopg import sql

    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with pg_admin() as conn:
        conn.execute(query)


def drop_database(name: str) -> None:
    from psycopg import sql

    with pg_admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def delete_redis_keys(prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    doomed = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for i in range(0, len(doomed), 500):
        client.delete(*doomed[i : i + 500])
    client.close()
    return len(doomed)


def _log_time(line: str) -> float:
    """Epoch seconds of a log line stamped by Python logging (local time), or NaN."""
    try:
        return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return float("nan")


class Server(ChildServer):
    """The app's server for one scenario: optionally under cProfile, with its RSS and log read."""

    def __init__(self, env: dict[str, str], log_path: Path, profile: Path | None = None) -> None:
        python_args = ("-m", "cProfile", "-o", str(profile)) if profile else ()
        super().__init__(env, log_path, python_args=python_args)
        self.profile = profile
        self.rss_after_start_kb: int | None = None
        self.time_origin: float | None = None  # log lines are shown relative to this

    def start(self, timeout: float = 30.0) -> Server:
        try:
            super().start(timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{self.log()[-3000:]}") from None
        self.rss_after_start_kb = proc_status_kb(self.pid, "VmRSS")
        return self

    def peak_rss_kb(self) -> int | None:
        return proc_status_kb(self.pid, "VmHWM")

    def profile_top(self, count: int = 30) -> str:
        """The busiest functions of the event-loop thread (cProfile), after stop()."""
        if not self.profile or not self.profile.exists():
            return ""
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(str(self.profile), stream=out)
        stats.sort_stats("tottime").print_stats(count)
        return out.getvalue()

    def log_lines(self) -> list[str]:
        """The server's log (one root handler: each record appears once)."""
        return self.log().splitlines()

    def compaction_times(self) -> list[float]:
        """Wall-clock times (epoch seconds) of the server's "compacted document" log lines."""
        times = [_log_time(line) for line in self.log_lines() if "compacted document=" in line]
        return [t for t in times if t == t]  # drop NaN

    def log_summary(self) -> dict[str, Any]:
        lines = self.log_lines()
        bad = [
            line
            for line in lines
            if re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback|Exception", line)
        ]
        if self.time_origin is not None:
            bad = [f"(at {_log_time(line) - self.time_origin:+.1f} s) {line}" for line in bad]
        return {
            "lines": len(lines),
            "warnings_errors": len(bad),
            "compactions": sum("compacted document=" in line for line in lines),
            "first_problems": bad[:8],
        }


def setup_django(db_url: str, prefix: str, redis_url: str = REDIS_URL) -> None:
    """Point this process at the run's database and Redis prefix, migrate, load Django.

    Settings read the environment at import, so it is set before Django loads.
    """
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "CHANNEL_LAYER_PREFIX": prefix,
            "DEBUG": "true",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SETTINGS_MODULE": "editor_project.settings",
            # This process's own store.compact() need not log; servers get INFO back.
            "LOG_LEVEL": "WARNING",
        }
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=os.environ.copy(),
        check=True,
    )
    import django

    django.setup()
