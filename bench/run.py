"""Load benchmark: a real Daphne server on PostgreSQL and Redis, driven by Node y-websocket clients.

    .venv/bin/python bench/run.py                 # every scenario (about 2 minutes)
    .venv/bin/python bench/run.py --scenario a c  # some of them
    .venv/bin/python bench/run.py --json /tmp/bench.json

Scenarios (see bench/README.md):
  a  1 document x 20 clients x 5 edits/s for 20 s       bar: all delivered, converged, p99 < 50 ms
  b  50 documents x 2 clients x 5 edits/s for 20 s      same bar
  c  cold open of a 50,000-update document, uncompacted and compacted   bar: median < 200 ms
  d  awareness: 1 document x 100 clients moving carets 2x/s for 10 s    figures only

Everything runs in a throwaway database (bench_<random>, dropped at the end) and a throwaway
channel-layer prefix in Redis (its keys deleted at the end). Each scenario gets a fresh server
process, so its CPU seconds (utime+stime from /proc over the load window) and peak RSS (VmHWM)
are its own. The load generator is yclients/bench-load.mjs; this script prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# Run as a script, this file's directory is on sys.path, not the repository root: put it there
# for the bench package (and, after setup, Django and the project's apps).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, log
from bench.harness import YCLIENTS, Bench
from bench.procstat import wait_for_idle
from bench.report import print_result, print_summary
from bench.scenarios import SCENARIOS
from bench.services import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    create_database,
    delete_redis_keys,
    drop_database,
    setup_django,
)


def environment() -> dict[str, Any]:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    except OSError:
        pass

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        except OSError:
            return ""
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", "documents", "editor_project").splitlines()
    return {
        "git": git("rev-parse", "--short", "HEAD"),
        "server_files_modified": len(dirty),
        "cpu": model,
        "cores": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "node": node,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenario", nargs="+", choices=sorted(SCENARIOS), default=sorted(SCENARIOS)
    )
    parser.add_argument("--seconds", type=float, help="override the load duration of a, b and d")
    parser.add_argument("--history", type=int, default=50_000, help="updates in c's document")
    parser.add_argument("--opens", type=int, default=5, help="cold opens per case in c")
    parser.add_argument(
        "--thin-awareness",
        choices=["apply", "count"],
        default="apply",
        help="d: thin clients apply awareness like stock clients (default) or only count it",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each scenario, wait up to this long for other work on the machine to drop"
        " under --idle-threshold cores (shared machines: other people's tests skew every figure)",
    )
    parser.add_argument("--idle-threshold", type=float, default=0.3, metavar="CORES")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each server under cProfile and print its busiest functions (slows it down)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the database and temp files")
    args = parser.parse_args(argv)
    if shutil.which("node") is None:
        parser.error("node is not on PATH")
    if not (YCLIENTS / "node_modules" / "y-websocket").is_dir():
        parser.error("yclients/node_modules is missing: run `make yclients`")

    run_id = uuid.uuid4().hex[:8]
    db_name = f"bench_{run_id}"
    db_url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}"
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{run_id}-"))
    bench = Bench(run_id, db_url, tmp, args)
    results: dict[str, Any] = {"environment": environment(), "scenarios": {}}
    started = time.monotonic()
    log(f"database {db_name}, channel prefix {bench.prefix}, temp files in {tmp}")
    create_database(db_name)
    try:
        setup_django(db_url, bench.prefix)
        env = results["environment"]
        print(
            f"bench run {run_id}: {env['cores']} x {env['cpu']}; Python {env['python']},"
            f" Node {env['node']}; server code {env['git']}"
            f" ({env['server_files_modified']} uncommitted files in documents/, editor_project/);"
            " load average at start"
            f" {', '.join(f'{x:.2f}' for x in env['loadavg_at_start'])}"
        )
        for name in args.scenario:
            log(f"scenario {name}")
            background = wait_for_idle(args.wait_idle, args.idle_threshold)
            t0 = time.monotonic()
            result = SCENARIOS[name](bench)
            result["background_cores_before"] = background
            result["elapsed_s"] = time.monotonic() - t0
            results["scenarios"][name] = result
            print_result(name, result)
    finally:
        for proc in bench.node_processes:
            if proc.poll() is None:
                proc.kill()
        for server in bench.servers:
            server.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep:
            log(f"kept database {db_name} and {tmp}")
        else:
            drop_database(db_name)
            deleted = delete_redis_keys(bench.prefix)
            log(f"dropped {db_name}; deleted {deleted} redis keys")
            shutil.rmtree(tmp, ignore_errors=True)
    total = time.monotonic() - started
    results["elapsed_s"] = total
    print_summary(results["scenarios"], total)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        log(f"wrote {args.json}")
    return 0 if all(r["pass"] for r in results["scenarios"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
