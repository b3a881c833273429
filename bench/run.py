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
import datetime
import hashlib
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
YCLIENTS = ROOT / "yclients"
LOADGEN = YCLIENTS / "bench-load.mjs"
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CLK_TCK = os.sysconf("SC_CLK_TCK")
MARKER = re.compile("\x01(\\d+)\\.(\\d+)\x02")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- /proc sampling --------------------------------------------------------------------------


def proc_times(pid: int) -> tuple[float, float] | None:
    """(utime, stime) of a process (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data.rsplit(")", 1)[1].split()  # fields[0] is field 3 (state)
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds."""
    times = proc_times(pid)
    return None if times is None else times[0] + times[1]


def proc_status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def procs_cpu(comm: str) -> dict[int, float]:
    """CPU seconds of every process whose command name is `comm` (postgres, redis-server)."""
    found: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                data = f.read()
        except OSError:
            continue
        name = data[data.find("(") + 1 : data.rfind(")")]
        if name == comm:
            fields = data.rsplit(")", 1)[1].split()
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return found


def machine_cpu() -> tuple[float, float]:
    """(all, idle) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts[:8]) / CLK_TCK, idle / CLK_TCK


def background_cores(window: float = 3.0) -> float:
    """Cores the whole machine keeps busy over `window` seconds (run between scenarios, this is
    everything that is not the benchmark)."""
    all_a, idle_a = machine_cpu()
    time.sleep(window)
    all_b, idle_b = machine_cpu()
    return (1 - (idle_b - idle_a) / max(all_b - all_a, 1e-9)) * (os.cpu_count() or 1)


def wait_for_idle(max_wait: float, threshold: float) -> float:
    """Wait up to `max_wait` s for the machine's other load to fall under `threshold` cores."""
    deadline = time.monotonic() + max_wait
    busy = background_cores()
    while busy >= threshold and time.monotonic() < deadline:
        log(f"machine busy with {busy:.2f} cores of other work; waiting for it to calm down")
        time.sleep(3)
        busy = background_cores()
    return busy


@dataclass
class CpuSnapshot:
    t: float
    server: float | None
    server_sys: float | None
    node: float | None
    postgres: dict[int, float]
    redis: dict[int, float]
    machine: tuple[float, float]


def snapshot(server_pid: int, node_pid: int | None) -> CpuSnapshot:
    times = proc_times(server_pid)
    return CpuSnapshot(
        t=time.monotonic(),
        server=None if times is None else sum(times),
        server_sys=None if times is None else times[1],
        node=proc_cpu_seconds(node_pid) if node_pid else None,
        postgres=procs_cpu("postgres"),
        redis=procs_cpu("redis-server"),
        machine=machine_cpu(),
    )


def cpu_delta(a: CpuSnapshot, b: CpuSnapshot) -> dict[str, Any]:
    """Cores used between two snapshots (CPU seconds / wall seconds)."""
    wall = max(b.t - a.t, 1e-9)

    def cores(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else (y - x) / wall

    def group(x: dict[int, float], y: dict[int, float]) -> float:
        return sum(cpu - x.get(pid, 0.0) for pid, cpu in y.items()) / wall

    all_a, idle_a = a.machine
    all_b, idle_b = b.machine
    busy = 1 - (idle_b - idle_a) / max(all_b - all_a, 1e-9)
    known = [cores(a.server, b.server), cores(a.node, b.node)]
    ours = sum(x for x in known if x is not None) + group(a.postgres, b.postgres)
    ours += group(a.redis, b.redis)
    return {
        "wall_s": wall,
        "server_cpu_s": None if a.server is None or b.server is None else b.server - a.server,
        "server_cores": cores(a.server, b.server),
        "server_sys_cores": cores(a.server_sys, b.server_sys),
        "loadgen_cores": cores(a.node, b.node),
        "postgres_cores": group(a.postgres, b.postgres),
        "redis_cores": group(a.redis, b.redis),
        "machine_busy_pct": 100 * busy,
        "machine_cores": os.cpu_count(),
        # Busy cores not explained by the server, the load generator, PostgreSQL or Redis:
        # anything else running on the machine at the same time.
        "other_cores": busy * (os.cpu_count() or 1) - ours,
    }


class Sampler(threading.Thread):
    """Server CPU every second, for the busiest one-second window."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            cpu = proc_cpu_seconds(self.pid)
            if cpu is not None:
                self.samples.append((time.monotonic(), cpu))
            self.done.wait(1.0)

    def peak_cores(self, start: float, end: float) -> float | None:
        inside = [(t, c) for t, c in self.samples if start <= t <= end]
        pairs = itertools.pairwise(inside)
        rates = [(c2 - c1) / (t2 - t1) for (t1, c1), (t2, c2) in pairs if t2 > t1]
        return max(rates) if rates else None


# -- services ----------------------------------------------------------------------------------


def pg_admin() -> Any:
    import psycopg

    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    )


def create_database(name: str) -> None:
    from psycopg import sql

    with pg_admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_time(line: str) -> float:
    """Epoch seconds of a log line stamped by Python logging (local time), or NaN."""
    try:
        return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return float("nan")


class Server:
    """`python -m editor_project.serve` on a free port, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path, profile: Path | None = None) -> None:
        self.env = env
        self.log_path = log_path
        self.profile = profile
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.rss_after_start_kb: int | None = None
        self.time_origin: float | None = None  # log lines are shown relative to this

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        with self.log_path.open("ab") as out:
            prefix = ["-m", "cProfile", "-o", str(self.profile)] if self.profile else []
            self.process = subprocess.Popen(
                [sys.executable, *prefix, "-m", "editor_project.serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not listen within 30 s") from None
                time.sleep(0.05)
        self.rss_after_start_kb = proc_status_kb(self.pid, "VmRSS")
        return self

    def peak_rss_kb(self) -> int | None:
        return proc_status_kb(self.pid, "VmHWM")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_lines(self) -> list[str]:
        """The server's log, each record once.

        The app's `documents` logger has its own handler and also propagates to the root
        handler Daphne installs, so each of its records appears twice (with and without the
        logger name): keep the first of each (time, message) pair.
        """
        seen: set[tuple[str, str]] = set()
        out = []
        for line in self.log().splitlines():
            key = (line[:23], line[-120:])
            if re.match(r"\d{4}-\d\d-\d\d ", line):
                if key in seen:
                    continue
                seen.add(key)
            out.append(line)
        return out

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


# -- the benchmark ---------------------------------------------------------------------------


@dataclass
class Bench:
    run_id: str
    db_url: str
    tmp: Path
    args: argparse.Namespace
    servers: list[Server] = field(default_factory=list)
    node_processes: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"bench{self.run_id}"

    def server(self, name: str, **collab: float) -> Server:
        env = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "REDIS_URL": REDIS_URL,
            "CHANNEL_LAYER_PREFIX": self.prefix,
            "DEBUG": "true",
            "ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        for key, value in collab.items():
            env[f"COLLAB_{key}"] = str(value)
        profile = self.tmp / f"server-{name}.prof" if self.args.profile else None
        server = Server(env, self.tmp / f"server-{name}.log", profile)
        self.servers.append(server)
        log(f"starting server for {name} on port {server.port}")
        return server.start()

    def run_node(self, config: dict[str, Any], server: Server, label: str) -> dict[str, Any]:
        """Run the load generator; return its result plus CPU figures for the load window."""
        path = self.tmp / f"loadgen-{label}.json"
        path.write_text(json.dumps(config))
        proc = subprocess.Popen(
            ["node", str(LOADGEN), str(path)],
            cwd=YCLIENTS,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.node_processes.append(proc)
        limit = float(config.get("seconds", 0)) + 120 + 40 * int(config.get("opens", 0))
        watchdog = threading.Timer(limit, proc.kill)
        watchdog.start()
        sampler = Sampler(server.pid)
        sampler.start()
        marks: dict[str, CpuSnapshot] = {}
        result: dict[str, Any] = {}
        epochs: dict[str, float] = {}
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    log(f"loadgen: {line.rstrip()}")
                    continue
                if event.get("event") == "phase":
                    marks[event["phase"]] = snapshot(server.pid, proc.pid)
                    if "epochMs" in event:
                        epochs[event["phase"]] = event["epochMs"] / 1000
                elif event.get("event") == "result":
                    result = event
            proc.wait()
        finally:
            watchdog.cancel()
            sampler.done.set()
        if not result:
            raise RuntimeError(f"load generator gave no result (exit {proc.returncode})")
        if "fatal" in result:
            raise RuntimeError(f"load generator failed: {result['fatal']}")
        if "load-start" in marks and "load-end" in marks:
            a, b = marks["load-start"], marks["load-end"]
            result["cpu"] = cpu_delta(a, b)
            result["cpu"]["server_peak_1s_cores"] = sampler.peak_cores(a.t, b.t)
        if "load-start" in epochs:
            start = epochs["load-start"]
            result["load_window_s"] = [0.0, round(epochs.get("load-end", start) - start, 1)]
            result["compactions_at_s"] = [round(t - start, 1) for t in server.compaction_times()]
            server.time_origin = start
        return result

    # -- Django-side helpers (in this process, on the bench database) -------------------------

    def make_users(self, label: str, count: int) -> list[tuple[Any, str]]:
        """`count` users, each with a logged-in session cookie."""
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password
        from django.test import Client

        user_model = get_user_model()
        users = user_model.objects.bulk_create(
            [
                user_model(
                    username=f"{label}-{i}",
                    first_name=f"Bench {label}{i}",
                    password=make_password(None),
                )
                for i in range(count)
            ]
        )
        out = []
        for user in users:
            client = Client()
            client.force_login(user)
            name = settings.SESSION_COOKIE_NAME
            out.append((user, f"{name}={client.cookies[name].value}"))
        return out

    def make_documents(self, label: str, users: list[Any], count: int) -> list[Any]:
        """`count` documents owned by users[0], shared with the others as editors."""
        from documents.models import Document, Membership, Role

        docs = Document.objects.bulk_create(
            [Document(title=f"bench {label} {i}", owner=users[0]) for i in range(count)]
        )
        Membership.objects.bulk_create(
            [Membership(document=d, user=u, role=Role.EDITOR) for d in docs for u in users[1:]]
        )
        return docs


def stored_text(document_id: Any) -> tuple[str, int]:
    """The document as the server stored it (snapshot + log), and its last sequence number."""
    from pycrdt import Doc, Text

    from documents import store

    loaded = store.load(document_id)
    doc: Doc[Any] = Doc()
    if loaded.update != store.EMPTY_UPDATE:
        doc.apply_update(loaded.update)
    return str(doc.get("text", type=Text)), loaded.last_seq


def check_stored(result: dict[str, Any]) -> dict[str, Any]:
    """Compare each document stored on the server with its full clients' text."""
    from documents.models import Document

    checks: dict[str, Any] = {}
    for attempt in range(4):
        equal = 0
        markers = 0
        mismatched: list[str] = []
        for d in result["perDoc"]:
            text, _ = stored_text(d["documentId"])
            markers += len(set(MARKER.findall(text)))
            if hashlib.sha256(text.encode("utf-8")).hexdigest() == d["textSha256"]:
                equal += 1
            else:
                mismatched.append(
                    f"{d['documentId']} stored {len(text)} chars, client {d['textLength']}"
                )
        checks = {
            "documents": len(result["perDoc"]),
            "equal": equal,
            "stored_markers": markers,
            "sent": result["sent"],
            "mismatched": mismatched[:5],
            "attempts": attempt + 1,
        }
        if equal == len(result["perDoc"]):
            break
        time.sleep(1.0)
    ids = [d["documentId"] for d in result["perDoc"]]
    rows = Document.objects.filter(pk__in=ids).values_list("last_seq", "snapshot_seq")
    checks["stored_updates"] = sum(r[0] for r in rows)
    checks["compacted_documents"] = sum(1 for r in rows if r[1] > 0)
    return checks


# -- scenarios ---------------------------------------------------------------------------------


def edit_scenario(
    bench: Bench, name: str, documents: int, clients: int, full: int, rate: float, seconds: float
) -> dict[str, Any]:
    seconds = bench.args.seconds or seconds
    users = bench.make_users(name, clients)
    docs = bench.make_documents(name, [u for u, _ in users], documents)
    cookies = [c for _, c in users]
    server = bench.server(name)
    try:
        config = {
            "mode": "edit",
            "url": server.ws_url,
            "origin": server.origin,
            "documents": [{"documentId": str(d.pk), "cookies": cookies} for d in docs],
            "clients": clients,
            "full": full,
            "rate": rate,
            "seconds": seconds,
            "dump": str(bench.tmp / f"texts-{name}.json"),
        }
        result = bench.run_node(config, server, name)
        result["stored"] = check_stored(result)
        result["server_peak_rss_mb"] = (server.peak_rss_kb() or 0) / 1024
        result["server_rss_after_start_mb"] = (server.rss_after_start_kb or 0) / 1024
        result["server_log"] = server.log_summary()
    finally:
        server.stop()
    result["server_profile"] = server.profile_top()
    latency = result["latencyMs"]
    stored = result["stored"]
    result["bar"] = {
        "all_delivered": result["delivered"]["fraction"] == 1,
        "all_stored": stored["stored_markers"] == result["sent"],
        "clients_converged": bool(result["converged"]),
        "server_converged": stored["equal"] == stored["documents"],
        "p99_under_50ms": latency["p99"] is not None and latency["p99"] < 50,
    }
    result["pass"] = all(result["bar"].values())
    result["server_cpu_per"] = ["edit (in, stored, relayed)", result["sent"]]
    result["title"] = (
        f"{documents} document(s) x {clients} clients ({full} full)"
        f" x {rate:g} edits/s x {seconds:g} s"
    )
    return result


def scenario_a(bench: Bench) -> dict[str, Any]:
    return edit_scenario(bench, "a", documents=1, clients=20, full=2, rate=5, seconds=20)


def scenario_b(bench: Bench) -> dict[str, Any]:
    return edit_scenario(bench, "b", documents=50, clients=2, full=2, rate=5, seconds=20)


def build_history(count: int, seed: int = 7) -> tuple[list[bytes], str]:
    """`count` small edits of Y.Text 'text', typed like a person: each its own update."""
    from pycrdt import Doc, Text

    rng = random.Random(seed)
    doc: Doc[Any] = Doc()
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    caret = 0
    length = 0
    words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while"]
    for _ in range(count):
        roll = rng.random()
        if roll < 0.05 or caret > length:
            caret = rng.randint(0, length)  # click somewhere else
        if roll < 0.12 and caret > 0:
            n = min(caret, rng.randint(1, 3))  # backspace
            del text[caret - n : caret]
            caret -= n
            length -= n
        else:
            chunk = rng.choice(words) + " " if rng.random() < 0.3 else rng.choice("etaoinshrdlu ")
            text.insert(caret, chunk)
            caret += len(chunk)
            length += len(chunk)
    doc.unobserve(sub)
    return updates, str(text)


def scenario_c(bench: Bench) -> dict[str, Any]:
    from documents import store
    from documents.models import Document, DocumentUpdate, Snapshot

    history = bench.args.history
    opens = bench.args.opens
    users = bench.make_users("c", 1)
    doc, warmup_doc = bench.make_documents("c", [users[0][0]], 2)
    user_id = users[0][0].pk
    t = time.perf_counter()
    updates, expected = build_history(history)
    build_s = time.perf_counter() - t
    log(f"built {len(updates)} updates with pycrdt in {build_s:.1f} s; inserting")
    t = time.perf_counter()
    for i in range(0, len(updates), 1000):
        store.append([store.Pending(doc.pk, u, user_id) for u in updates[i : i + 1000]])
    insert_s = time.perf_counter() - t
    doc.refresh_from_db()
    log_bytes = doc.log_bytes

    def breakdown() -> dict[str, Any]:
        """What a cold room does with the document, timed here in-process (no server)."""
        from pycrdt import Doc

        t0 = time.perf_counter()
        loaded = store.load(doc.pk)  # the database read and the merge
        t1 = time.perf_counter()
        ydoc: Doc[Any] = Doc()
        ydoc.apply_update(loaded.update)  # Room.open
        t2 = time.perf_counter()
        diff = ydoc.get_update()  # Room.sync_step1 for a new client
        t3 = time.perf_counter()
        return {
            "load_ms": (t1 - t0) * 1000,
            "apply_ms": (t2 - t1) * 1000,
            "step2_ms": (t3 - t2) * 1000,
            "merged_bytes": len(loaded.update),
            "step2_bytes": len(diff),
        }

    uncompacted_breakdown = breakdown()
    # Rooms close as soon as their last client leaves, so every open loads from the database;
    # compaction thresholds out of reach, so nothing compacts behind our back.
    server = bench.server(
        "c",
        ROOM_IDLE_SECONDS=0,
        COMPACT_AFTER_UPDATES=10**12,
        COMPACT_AFTER_BYTES=10**15,
    )
    cookie = users[0][1]

    def open_config() -> dict[str, Any]:
        return {
            "mode": "open",
            "url": server.ws_url,
            "origin": server.origin,
            "documents": [{"documentId": str(doc.pk), "cookies": [cookie]}],
            "opens": opens,
            "gapMs": 500,
            "expectLength": len(expected),
            "warmup": {"documentId": str(warmup_doc.pk), "cookies": [cookie]},
        }

    try:
        cpu0 = proc_cpu_seconds(server.pid) or 0.0
        uncompacted = bench.run_node(open_config(), server, "c-uncompacted")
        cpu1 = proc_cpu_seconds(server.pid) or 0.0
        doc.refresh_from_db()
        logged = DocumentUpdate.objects.filter(document=doc).count()
        still_uncompacted = doc.snapshot_seq == 0 and logged == len(updates)
        t0 = time.perf_counter()
        store.compact(doc.pk)
        compact_ms = (time.perf_counter() - t0) * 1000
        snapshot_bytes = len(bytes(Snapshot.objects.filter(document=doc).latest("seq").data))
        compacted_breakdown = breakdown()
        cpu2 = proc_cpu_seconds(server.pid) or 0.0
        compacted = bench.run_node(open_config(), server, "c-compacted")
        cpu3 = proc_cpu_seconds(server.pid) or 0.0
        text_after, _ = stored_text(doc.pk)
        peak_rss = (server.peak_rss_kb() or 0) / 1024
        server_log = server.log_summary()
    finally:
        server.stop()
    remaining = Document.objects.filter(pk=doc.pk).values_list("last_seq", "snapshot_seq").first()

    def phase(result: dict[str, Any], cpu_s: float) -> dict[str, Any]:
        ok = [o for o in result["opens"] if o.get("ok")]
        return {
            "open_to_sync_ms": [round(o["openToSyncMs"], 1) for o in ok],
            "median_open_to_sync_ms": result["medianOpenToSyncMs"],
            "median_open_to_step2_ms": result["medianOpenToStep2Ms"],
            "median_client_apply_ms": result["medianClientApplyMs"],
            "step2_bytes": ok[0]["step2Bytes"] if ok else None,
            "failures": result["failures"],
            "errors": [o.get("error") for o in result["opens"] if o.get("error")]
            + [f"close codes {o['closes']}" for o in result["opens"] if o.get("closes")],
            "server_cpu_s_per_open": cpu_s / max(len(ok), 1),
        }

    out: dict[str, Any] = {
        "title": f"cold open of a {history}-update document, median of {opens} opens each",
        "history_updates": len(updates),
        "text_chars": len(expected),
        "log_bytes": log_bytes,
        "build_s": build_s,
        "insert_s": insert_s,
        "in_process_uncompacted": uncompacted_breakdown,
        "uncompacted_during_opens": still_uncompacted,
        "compact_ms": compact_ms,
        "snapshot_bytes": snapshot_bytes,
        "in_process_compacted": compacted_breakdown,
        "uncompacted": phase(uncompacted, cpu1 - cpu0),
        "compacted": phase(compacted, cpu3 - cpu2),
        "stored_text_ok": text_after == expected,
        "last_seq_snapshot_seq": list(remaining) if remaining else None,
        "server_peak_rss_mb": peak_rss,
        "server_log": server_log,
        "server_profile": server.profile_top(),
    }
    out["bar"] = {
        "uncompacted_under_200ms": (out["uncompacted"]["median_open_to_sync_ms"] or 1e9) < 200,
        "compacted_under_200ms": (out["compacted"]["median_open_to_sync_ms"] or 1e9) < 200,
        "content_ok": out["stored_text_ok"]
        and not out["uncompacted"]["failures"]
        and not out["compacted"]["failures"]
        and not out["uncompacted"]["errors"]
        and not out["compacted"]["errors"],
    }
    out["pass"] = all(out["bar"].values())
    return out


def scenario_d(bench: Bench) -> dict[str, Any]:
    clients, rate = 100, 2
    seconds = bench.args.seconds or 10
    users = bench.make_users("d", clients)
    (doc,) = bench.make_documents("d", [u for u, _ in users], 1)
    server = bench.server("d")
    try:
        config = {
            "mode": "awareness",
            "url": server.ws_url,
            "origin": server.origin,
            "documents": [{"documentId": str(doc.pk), "cookies": [c for _, c in users]}],
            "clients": clients,
            "full": 1,
            "awarenessRate": rate,
            "seconds": seconds,
            "thinAwareness": bench.args.thin_awareness,
        }
        result = bench.run_node(config, server, "d")
        result["server_peak_rss_mb"] = (server.peak_rss_kb() or 0) / 1024
        result["server_log"] = server.log_summary()
    finally:
        server.stop()
    result["server_profile"] = server.profile_top()
    result["title"] = (
        f"awareness: 1 document x {clients} clients x {rate} caret moves/s x {seconds:g} s"
    )
    errors = result["errors"]
    seen = result["finalCaretSeen"]
    frames_in = result["framesSentPerSecond"] * result["loadSeconds"]
    result["server_cpu_per"] = ["awareness frame in", frames_in]
    result["bar"] = {
        "no_errors": not errors["closeCodes"]
        and not errors["disconnects"]
        and not errors["neverSynced"]
        and not errors["connectionErrors"],
        "final_carets_seen": seen["seen"] == seen["expected"],
    }
    result["pass"] = all(result["bar"].values())
    return result


SCENARIOS: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "a": scenario_a,
    "b": scenario_b,
    "c": scenario_c,
    "d": scenario_d,
}


# -- printing ----------------------------------------------------------------------------------


def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def yes(flag: Any) -> str:
    return "yes" if flag else "NO"


def row(label: str, value: str) -> None:
    print(f"  {label:<30} {value}")


def print_cpu(result: dict[str, Any]) -> None:
    cpu = result.get("cpu")
    if not cpu:
        return
    row(
        "server CPU (load window)",
        f"{fmt(cpu['server_cores'], 2)} cores avg, {fmt(cpu['server_peak_1s_cores'], 2)} peak 1 s"
        f" ({fmt(cpu['server_cpu_s'], 1)} CPU s over {fmt(cpu['wall_s'], 1)} s;"
        f" {fmt(100 * (cpu['server_sys_cores'] or 0) / max(cpu['server_cores'] or 0, 1e-9), 0)}%"
        " in the kernel)",
    )
    if result.get("server_cpu_per") and cpu.get("server_cpu_s") is not None:
        unit, count = result["server_cpu_per"]
        row("server CPU per " + unit, f"{fmt(1000 * cpu['server_cpu_s'] / max(count, 1), 2)} ms")
    row("server RSS", f"peak {fmt(result.get('server_peak_rss_mb'), 0)} MB")
    row(
        "other CPU (load window)",
        f"loadgen {fmt(cpu['loadgen_cores'], 2)}, postgres {fmt(cpu['postgres_cores'], 2)},"
        f" redis {fmt(cpu['redis_cores'], 2)} cores;"
        f" machine {fmt(cpu['machine_busy_pct'], 0)}% busy of {cpu['machine_cores']} cores"
        f" ({fmt(cpu['other_cores'], 2)} cores used by other processes)",
    )


def print_errors(errors: dict[str, Any]) -> None:
    parts = []
    if errors.get("closeCodes"):
        parts.append("close codes " + json.dumps(errors["closeCodes"]))
    for key in (
        "connectionErrors",
        "disconnects",
        "permissionDenied",
        "neverSynced",
        "skippedTicks",
    ):
        if errors.get(key):
            parts.append(f"{key} {errors[key]}")
    row("errors", ", ".join(parts) or "none")


def print_log(summary: dict[str, Any]) -> None:
    row(
        "server log",
        f"{summary['warnings_errors']} warning/error lines, {summary['compactions']} compactions",
    )
    for line in summary["first_problems"]:
        print(f"      {line[:220]}")


def print_edit(result: dict[str, Any]) -> None:
    lat = result["latencyMs"]
    delivered = result["delivered"]
    stored = result["stored"]
    row("setup (connect + sync)", f"{result['setupMs']} ms")
    row("edits sent", f"{result['sent']} ({fmt(result['sentPerSecond'])}/s)")
    row(
        "latency ms p50/p95/p99/max",
        f"{fmt(lat['p50'])} / {fmt(lat['p95'])} / {fmt(lat['p99'])} / {fmt(lat['max'])}"
        f"  ({lat['count']} samples)",
    )
    row(
        "delivered to full clients",
        f"{delivered['seen']}/{delivered['expected']}"
        f" ({fmt(100 * (delivered['fraction'] or 0), 2)}%), quiet after {result['quiesceMs']} ms",
    )
    row("full clients converged", yes(result["converged"]))
    row(
        "server copy == clients",
        f"{yes(stored['equal'] == stored['documents'])} ({stored['equal']}/{stored['documents']}"
        f" documents; {stored['stored_markers']}/{result['sent']} markers stored;"
        f" {stored['stored_updates']} updates in log, {stored['compacted_documents']} compacted)",
    )
    for line in stored["mismatched"]:
        print(f"      mismatch: {line}")
    by_second = result.get("latencyBySecond") or []
    row("p99 by second of the run", " ".join(fmt(b["p99"], 0) for b in by_second))
    row("max by second of the run", " ".join(fmt(b["max"], 0) for b in by_second))
    if result.get("compactions_at_s") is not None:
        row("compactions at second", " ".join(fmt(x) for x in result["compactions_at_s"]) or "none")
    print_errors(result["errors"])
    print_cpu(result)
    print_log(result["server_log"])


def print_open(result: dict[str, Any]) -> None:
    row(
        "history",
        f"{result['history_updates']} updates, {result['log_bytes']} log bytes,"
        f" {result['text_chars']} chars of text (built {fmt(result['build_s'])} s,"
        f" inserted {fmt(result['insert_s'])} s)",
    )
    for key, label in (("uncompacted", "uncompacted log"), ("compacted", "after store.compact()")):
        phase = result[key]
        row(
            f"{label}: open->sync",
            f"median {fmt(phase['median_open_to_sync_ms'])} ms  (each: "
            + ", ".join(fmt(x) for x in phase["open_to_sync_ms"])
            + ")",
        )
        row(
            "   split",
            f"open->step2 {fmt(phase['median_open_to_step2_ms'])} ms, client apply"
            f" {fmt(phase['median_client_apply_ms'])} ms, step 2 {phase['step2_bytes']} bytes,"
            f" server {fmt(phase['server_cpu_s_per_open'], 2)} CPU s/open",
        )
        if phase["failures"] or phase["errors"]:
            row("   problems", f"{phase['failures']} failed; {phase['errors']}")
    for key, label in (
        ("uncompacted", "in-process, uncompacted"),
        ("compacted", "in-process, compacted"),
    ):
        b = result[f"in_process_{key}"]
        row(
            label,
            f"store.load {fmt(b['load_ms'])} ms ({b['merged_bytes']} bytes), Doc.apply_update"
            f" {fmt(b['apply_ms'])} ms, get_update {fmt(b['step2_ms'])} ms",
        )
    row(
        "store.compact()",
        f"{fmt(result['compact_ms'])} ms -> snapshot {result['snapshot_bytes']} bytes",
    )
    row("log stayed uncompacted", yes(result["uncompacted_during_opens"]))
    row("stored text intact", yes(result["stored_text_ok"]))
    row("server RSS", f"peak {fmt(result['server_peak_rss_mb'], 0)} MB")
    print_log(result["server_log"])


def print_awareness(result: dict[str, Any]) -> None:
    lo, hi = result["framesPerClientPerSecondMinMax"]
    lat = result["caretLatencyMs"]
    row("setup (connect + sync)", f"{result['setupMs']} ms")
    row("caret moves sent", f"{result['moves']} ({fmt(result['movesPerSecond'])}/s)")
    row(
        "awareness frames received",
        f"{fmt(result['framesReceivedPerSecond'])}/s total,"
        f" {fmt(result['framesPerClientPerSecond'])}/s per client (min {fmt(lo)}, max {fmt(hi)})",
    )
    row("awareness entries received", f"{fmt(result['entriesReceivedPerSecond'])}/s total")
    row(
        "awareness frames sent",
        f"{fmt(result['framesSentPerSecond'])}/s total (stock clients re-send what they apply;"
        f" thin clients: {result['thinAwareness']})",
    )
    row(
        "caret latency ms p50/p95/p99/max",
        f"{fmt(lat['p50'])} / {fmt(lat['p95'])} / {fmt(lat['p99'])} / {fmt(lat['max'])}"
        f"  (at the full client, {lat['count']} samples)",
    )
    seen = result["finalCaretSeen"]
    row("final carets seen", f"{seen['seen']}/{seen['expected']}")
    print_errors(result["errors"])
    print_cpu(result)
    print_log(result["server_log"])


PRINTERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "a": print_edit,
    "b": print_edit,
    "c": print_open,
    "d": print_awareness,
}


def print_result(name: str, result: dict[str, Any]) -> None:
    print()
    print(f"== {name}) {result['title']} ==")
    row(
        "other load on the machine",
        f"{fmt(result.get('background_cores_before'), 2)} cores busy just before the scenario",
    )
    PRINTERS[name](result)
    if result.get("server_profile"):
        print("  server profile (cProfile, main thread, by own time):")
        for line in result["server_profile"].splitlines():
            if line.strip():
                print(f"    {line[:160]}")
    failed = [k for k, v in result["bar"].items() if not v]
    row("bar", "PASS" if result["pass"] else "FAIL: " + ", ".join(failed))
    sys.stdout.flush()


# -- main --------------------------------------------------------------------------------------


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
        # Settings read the environment at import: set it before Django loads.
        os.environ.update(
            {
                "DATABASE_URL": db_url,
                "REDIS_URL": REDIS_URL,
                "CHANNEL_LAYER_PREFIX": bench.prefix,
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
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
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
    print()
    print("== summary ==")
    for name, result in results["scenarios"].items():
        figure = ""
        if name in ("a", "b"):
            lat = result["latencyMs"]
            figure = (
                f"p50 {fmt(lat['p50'])} / p99 {fmt(lat['p99'])} ms,"
                f" delivered {fmt(100 * (result['delivered']['fraction'] or 0), 2)}%,"
                f" server {fmt(result['cpu']['server_cores'], 2)} cores"
            )
        elif name == "c":
            figure = (
                f"open->sync median {fmt(result['uncompacted']['median_open_to_sync_ms'])} ms"
                f" uncompacted, {fmt(result['compacted']['median_open_to_sync_ms'])} ms compacted"
            )
        elif name == "d":
            figure = (
                f"{fmt(result['framesReceivedPerSecond'], 0)} frames/s received"
                f" ({fmt(result['framesPerClientPerSecond'])}/client),"
                f" server {fmt(result['cpu']['server_cores'], 2)} cores"
            )
        print(f"  {name}) {'PASS' if result['pass'] else 'FAIL'}  {figure}")
    print(f"  total {total:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        log(f"wrote {args.json}")
    return 0 if all(r["pass"] for r in results["scenarios"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
