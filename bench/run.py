"""Load benchmark: the project (Daphne on PostgreSQL and Redis, DEBUG off) beside two reference
servers, Hocuspocus and the y-websocket server (in memory, from bench/references/), driven by
the same Node load generator with each server's stock provider, in one run; then the browser
keystroke latency (bench/browser_latency.py).

    .venv/bin/python bench/run.py                       # everything (about 12 minutes)
    .venv/bin/python bench/run.py --quick               # shorter loads (about 6 minutes)
    .venv/bin/python bench/run.py --only a b --servers project hocuspocus --skip-browser
    .venv/bin/python bench/run.py --json /tmp/bench.json --strict
    .venv/bin/python bench/run.py --only a c --rounds 3   # each server's median of 3 runs

Scenarios (see bench/README.md): a, a-caret, b, c (edit loads), herd, ingest, scale, and
cold-open (the project's store only; run when named). Each scenario runs on fresh servers; the
project's on a fresh database (copied from a migrated template) and an emptied Redis of the run's
own. CPU is read from /proc over each load window: the servers, the load generators (and their
own event-loop delay), the PostgreSQL processes working for the scenario's database, Redis.
The report prints PASS/MISS against the bars of issue 10; the exit status is 0 unless --strict.
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

import secrets

from bench import references, rounds
from bench.common import ROOT, log
from bench.harness import YCLIENTS, Bench
from bench.procstat import wait_for_idle
from bench.report import KINDS, judge, print_browser, print_scenario, print_summary
from bench.scenarios import DEFAULT_SCENARIOS, PROJECT_ONLY, SCENARIOS
from bench.services import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    create_database,
    drop_database,
    setup_django,
)
from devtools.services import start_redis


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


def browser_latency(redis_url: str, keys: int, tmp: Path) -> dict[str, Any]:
    """bench/browser_latency.py in its own process (it sets Django up on its own database)."""
    out = tmp / "browser.json"
    done = subprocess.run(
        [sys.executable, "bench/browser_latency.py", "--keys", str(keys), "--json", str(out)],
        cwd=ROOT,
        env={**os.environ, "BENCH_REDIS_URL": redis_url},
        capture_output=True,
        text=True,
    )
    if not out.exists():
        return {"error": f"exit {done.returncode}: {(done.stderr or done.stdout)[-600:]}"}
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def run_once(bench: Bench, name: str, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """One scenario on one server, on fresh servers; a run that fails gives {"error": ...}."""
    background = wait_for_idle(args.wait_idle, args.idle_threshold)
    t0 = time.monotonic()
    try:
        result = SCENARIOS[name](bench, kind)
    except Exception as exc:  # one broken run must not hide the others' figures
        log(f"{name} on {kind} could not run: {exc!r}")
        result = {"error": str(exc)[:500]}
    result["background_cores_before"] = background
    result["elapsed_s"] = time.monotonic() - t0
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(SCENARIOS),
        default=list(DEFAULT_SCENARIOS),
        metavar="SCENARIO",
        help=f"scenarios to run, of {', '.join(SCENARIOS)} (default: all but cold-open)",
    )
    parser.add_argument(
        "--servers", nargs="+", choices=KINDS, default=list(KINDS), help="default: all three"
    )
    parser.add_argument("--quick", action="store_true", help="8 s loads, 10,000 ingest updates")
    parser.add_argument("--seconds", type=float, help="override every edit load's duration")
    parser.add_argument("--skip-browser", action="store_true", help="no browser latency run")
    parser.add_argument("--browser-keys", type=int, help="keystrokes timed (100; --quick 40)")
    parser.add_argument("--history", type=int, default=50_000, help="cold-open: updates")
    parser.add_argument("--opens", type=int, default=5, help="cold-open: opens per case")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each run, wait up to this long for other work on the machine to drop"
        " under --idle-threshold cores (shared machines: other people's tests skew every figure)",
    )
    parser.add_argument("--idle-threshold", type=float, default=0.3, metavar="CORES")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the project's servers under cProfile (their profiles stay in the temp files;"
        " with --keep)",
    )
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="sample the project's servers with py-spy over each load and print where they spend"
        " their time (needs the bench extra: pip install -e '.[bench]')",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="run every scenario N times on each server, the servers taking turns, and report"
        " each server's median round (noisy machines: one run's ratio can be noise)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a bar is missed")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the databases and temp files")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if shutil.which("node") is None:
        parser.error("node is not on PATH")
    if not (YCLIENTS / "node_modules" / "@hocuspocus" / "provider").is_dir():
        parser.error("yclients/node_modules is missing or old: run `make yclients`")
    if args.py_spy and not Path(sys.executable).with_name("py-spy").exists():
        parser.error("py-spy is missing: pip install -e '.[bench]'")
    if not references.installed():
        parser.error("bench/references/node_modules is missing: run `make bench-references`")

    run_id = uuid.uuid4().hex[:8]
    template = f"bench_{run_id}"
    db_url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{template}"
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{run_id}-"))
    # Sessions are made here and read by the servers (DEBUG off needs a key): one key for both.
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(40)
    redis_url, redis_process = start_redis()
    bench = Bench(run_id, db_url, tmp, args, redis_url=redis_url, redis_pid=redis_process.pid)
    bench.production = True
    bench.template = template
    env = environment()
    results: dict[str, Any] = {"environment": env, "scenarios": {}, "bars": {}, "rounds": {}}
    started = time.monotonic()
    log(f"template database {template}, Redis {redis_url}, temp files in {tmp}")
    create_database(template)
    try:
        setup_django(db_url, bench.prefix, redis_url)
        print(
            f"bench run {run_id}: {env['cores']} x {env['cpu']}; Python {env['python']},"
            f" Node {env['node']}; server code {env['git']}"
            f" ({env['server_files_modified']} uncommitted files in documents/, editor_project/);"
            " load average at start"
            f" {', '.join(f'{x:.2f}' for x in env['loadavg_at_start'])}",
            flush=True,
        )
        for name in args.only:
            kinds = [k for k in args.servers if name not in PROJECT_ONLY or k == "project"]
            runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
            for round_index in range(args.rounds):
                for kind in rounds.turns(kinds, round_index):
                    log(
                        f"scenario {name} on {kind}"
                        + (f", round {round_index + 1}" if args.rounds > 1 else "")
                    )
                    runs[kind].append(run_once(bench, name, kind, args))
            if args.rounds > 1:
                results["rounds"][name] = runs
            per_kind = {kind: rounds.median_round(name, runs[kind]) for kind in kinds}
            results["scenarios"][name] = per_kind
            results["bars"][name] = judge(name, per_kind)
            print_scenario(name, per_kind, results["bars"][name])
        if not args.skip_browser:
            log("browser latency")
            keys = args.browser_keys or (40 if args.quick else 100)
            results["browser"] = browser_latency(redis_url, keys, tmp)
    finally:
        for proc in bench.node_processes:
            if proc.poll() is None:
                proc.kill()
        for server in bench.servers:
            server.stop()
        for reference in bench.references:
            reference.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        redis_process.terminate()
        redis_process.wait(10)
        if args.keep:
            log(f"kept databases {template} {' '.join(bench.databases)} and {tmp}")
        else:
            for name in [*bench.databases, template]:
                drop_database(name)
            shutil.rmtree(tmp, ignore_errors=True)
    results["elapsed_s"] = time.monotonic() - started
    print_summary(results["scenarios"], results["bars"])
    if "browser" in results:
        print_browser(results["browser"])
    print(f"\ntotal {results['elapsed_s']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        log(f"wrote {args.json}")
    missed = [name for name, bars in results["bars"].items() if not all(bars.values())]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
