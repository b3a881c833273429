"""The benchmark harness: `Bench` starts a run's servers (the project's, or a reference server),
runs load generators (yclients/bench-load.mjs) against them and creates users and documents
in-process; `stored_text` and `check_stored` read back what the project stored."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import queue
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, log
from bench.procstat import GroupSnapshot, PySpy, group_delta, group_snapshot, proc_status_kb
from bench.references import ReferenceServer
from bench.services import REDIS_URL, Server
from devtools.child_server import server_environment

YCLIENTS = ROOT / "yclients"
LOADGEN = YCLIENTS / "bench-load.mjs"
MARKER = re.compile("\x01(\\d+)\\.(\\d+)\x02")


@dataclass
class Deployment:
    """The server side of one scenario: the project's processes or one reference server."""

    kind: str  # "project", "hocuspocus" or "y-websocket"
    servers: list[Server] | list[ReferenceServer]
    database: str | None = None  # the project's: its PostgreSQL backends count as its CPU
    peak_rss_kb: int = 0

    @property
    def urls(self) -> list[str]:
        return [s.ws_url for s in self.servers]

    @property
    def pids(self) -> list[int]:
        return [s.pid for s in self.servers]

    def read_peak_rss(self) -> None:
        """VmHWM summed over the server processes (read while they still run)."""
        self.peak_rss_kb = sum(proc_status_kb(pid, "VmHWM") or 0 for pid in self.pids)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def log_summary(self) -> dict[str, Any]:
        if self.kind == "project":
            summaries = [s.log_summary() for s in self.servers if isinstance(s, Server)]
            return {
                "warnings_errors": sum(x["warnings_errors"] for x in summaries),
                "compactions": sum(x["compactions"] for x in summaries),
                "first_problems": [line for x in summaries for line in x["first_problems"]][:8],
            }
        lines = [ln for s in self.servers for ln in s.log().splitlines() if ln.strip()]
        problems = [ln for ln in lines if not ln.startswith("listening")]
        return {"warnings_errors": len(problems), "compactions": 0, "first_problems": problems[:8]}


class Generators:
    """Load generator processes started together: each reads its config, connects its clients
    and (edit mode) waits for "go" on stdin, so their loads start at the same moment."""

    def __init__(self, bench: Bench, configs: list[dict[str, Any]], label: str) -> None:
        self.events: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
        self.procs: list[subprocess.Popen[str]] = []
        for i, config in enumerate(configs):
            path = bench.tmp / f"loadgen-{label}-{i}.json"
            path.write_text(json.dumps(config))
            proc = subprocess.Popen(
                ["node", str(LOADGEN), str(path)],
                cwd=YCLIENTS,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            bench.node_processes.append(proc)
            self.procs.append(proc)
            threading.Thread(target=self._read, args=(i, proc), daemon=True).start()

    def _read(self, index: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                self.events.put((index, json.loads(line)))
            except json.JSONDecodeError:
                log(f"loadgen {index}: {line.rstrip()}")
        self.events.put((index, {"event": "exit", "status": proc.wait()}))

    def next_event(self, deadline: float) -> tuple[int, dict[str, Any]]:
        try:
            index, event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError("the load generators did not finish in time") from None
        if event.get("fatal"):
            raise RuntimeError(f"load generator {index} failed: {event['fatal']}")
        if event.get("event") == "exit" and event["status"] != 0:
            raise RuntimeError(f"load generator {index} exited with status {event['status']}")
        return index, event

    def go(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def merge_edit_results(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One edit-mode result from several generators' (each holding whole documents)."""
    if len(results) == 1:
        return results[0]
    merged = dict(results[0])
    for key in ("sent", "thinDroppedUpdates", "thinDroppedBytes", "sentOffline"):
        merged[key] = sum(r[key] for r in results)
    merged["sentPerSecond"] = sum(r["sentPerSecond"] for r in results)
    merged["documents"] = sum(r["documents"] for r in results)
    merged["perDoc"] = [d for r in results for d in r["perDoc"]]
    merged["converged"] = all(r["converged"] for r in results)
    merged["setupMs"] = max(r["setupMs"] for r in results)
    merged["quiesceMs"] = max(r["quiesceMs"] for r in results)
    seen = sum(r["delivered"]["seen"] for r in results)
    expected = sum(r["delivered"]["expected"] for r in results)
    merged["delivered"] = {
        "seen": seen,
        "expected": expected,
        "fraction": seen / expected if expected else None,
    }
    merged["samples"] = [x for r in results for x in r.get("samples", [])]
    merged["latencyMs"] = summarize(merged["samples"])
    if "crossingSamples" in results[0]:
        merged["crossingSamples"] = [x for r in results for x in r["crossingSamples"]]
        merged["crossingLatencyMs"] = summarize(merged["crossingSamples"])
    if "awarenessSamples" in results[0]:
        merged["awarenessSamples"] = [x for r in results for x in r["awarenessSamples"]]
        merged["awarenessLatencyMs"] = summarize(merged["awarenessSamples"])
    merged["latencyBySecond"] = []
    errors: dict[str, Any] = {"closeCodes": {}, "connectionErrorKinds": {}}
    for r in results:
        for key, value in r["errors"].items():
            if isinstance(value, dict):  # close code or error message -> count
                for what, n in value.items():
                    errors[key][what] = errors[key].get(what, 0) + n
            else:
                errors[key] = errors.get(key, 0) + value
    merged["errors"] = errors
    return merged


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest rank, as the load generator computes it."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def summarize(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "mean": sum(ordered) / len(ordered) if ordered else None,
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] if ordered else None,
    }


@dataclass
class Bench:
    run_id: str
    db_url: str
    tmp: Path
    args: argparse.Namespace
    servers: list[Server] = field(default_factory=list)
    node_processes: list[subprocess.Popen[str]] = field(default_factory=list)
    redis_url: str = REDIS_URL  # the fault suite points its servers at its own Redis
    redis_pid: int | None = None  # a Redis of the run's own, whose CPU is the project's
    production: bool = False  # servers as deployed: DEBUG off, no test hooks
    references: list[ReferenceServer] = field(default_factory=list)
    template: str | None = None  # the migrated database fresh_database copies
    databases: list[str] = field(default_factory=list)  # made by fresh_database

    @property
    def prefix(self) -> str:
        return f"bench{self.run_id}"

    def server(self, name: str, **collab: float) -> Server:
        env = server_environment(self.db_url, self.redis_url, self.prefix, **collab)
        env["LOG_LEVEL"] = "INFO"
        if self.production:
            env.update(DEBUG="false", ALLOWED_HOSTS="127.0.0.1", SECURE_COOKIES="false")
            env.pop("EDITOR_TEST_HOOKS", None)
        profile = self.tmp / f"server-{name}.prof" if self.args.profile else None
        server = Server(env, self.tmp / f"server-{name}.log", profile)
        self.servers.append(server)
        log(f"starting server for {name} on port {server.port}")
        return server.start()

    def deploy(self, kind: str, name: str, processes: int = 1, **collab: float) -> Deployment:
        """Fresh servers for one scenario: the project's `processes` or a reference server."""
        if kind != "project":
            server = ReferenceServer(kind, self.tmp / f"{kind}-{name}.log")
            self.references.append(server)
            log(f"starting {kind} for {name} on port {server.port}")
            return Deployment(kind, [server.start()])
        servers = [self.server(f"{name}-{i}", **collab) for i in range(processes)]
        return Deployment(kind, servers, database=self.db_url.rsplit("/", 1)[1])

    def run_generators(
        self, configs: list[dict[str, Any]], deployment: Deployment, label: str
    ) -> dict[str, Any]:
        """Run load generators together; their results (edit mode: merged) with the CPU of the
        servers, the generators, PostgreSQL (the project's database only) and Redis over the
        load window."""
        together = len(configs) > 1
        for config in configs:
            config["waitForGo"] = together
            config["samples"] = together
        gens = Generators(self, configs, label)
        pids = {"server": deployment.pids, "loadgen": [p.pid for p in gens.procs]}
        if deployment.kind == "project" and self.redis_pid:
            pids["redis"] = [self.redis_pid]
        limit = max(float(c.get("seconds", 0)) for c in configs) + 180
        deadline = time.monotonic() + limit
        start: GroupSnapshot | None = None
        end: GroupSnapshot | None = None
        connected: set[int] = set()
        ended: set[int] = set()
        results: dict[int, dict[str, Any]] = {}
        epoch: float | None = None
        spies: list[PySpy] = []

        def begin() -> GroupSnapshot:
            if getattr(self.args, "py_spy", False) and deployment.kind == "project":
                seconds = max(float(c.get("seconds", 0)) for c in configs) or 10
                spies.extend(
                    PySpy(pid, seconds, self.tmp / f"py-spy-{label}-{i}.txt")
                    for i, pid in enumerate(deployment.pids)
                )
            return group_snapshot(pids, deployment.database)

        try:
            while len(results) < len(configs):
                index, event = gens.next_event(deadline)
                phase = event.get("phase")
                if event.get("event") == "phase" and phase == "connected" and together:
                    connected.add(index)
                    if len(connected) == len(configs):
                        start = begin()
                        epoch = time.time()
                        gens.go()
                elif event.get("event") == "phase" and phase == "load-start" and not together:
                    start = begin()
                    epoch = event["epochMs"] / 1000
                elif event.get("event") == "phase" and phase == "load-end":
                    ended.add(index)
                    if len(ended) == len(configs):
                        end = group_snapshot(pids, deployment.database)
                        deployment.read_peak_rss()
                elif event.get("event") == "result":
                    results[index] = event
                elif event.get("event") == "exit" and index not in results:
                    raise RuntimeError(f"load generator {index} gave no result")
        finally:
            gens.kill()
        ordered = [results[i] for i in range(len(configs))]
        merged = merge_edit_results(ordered) if ordered[0]["mode"] == "edit" else ordered[0]
        merged["loadgens"] = [r.get("loadgen") for r in ordered]
        if start and end:
            merged["cpu"] = group_delta(start, end)
        if spies:
            merged["py_spy"] = [spy.top() for spy in spies]
            merged["py_spy_stages"] = [spy.stages() for spy in spies]
        if epoch is not None:
            for server in deployment.servers:
                if isinstance(server, Server):
                    server.time_origin = epoch
        return merged

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

    def fresh_database(self, label: str) -> None:
        """A new database for one scenario, copied from the run's migrated one, and (when the
        run has a Redis of its own) an empty Redis."""
        from django.db import connections

        from bench.services import create_database

        name = f"bench_{self.run_id}_{label.replace('-', '_')}"
        if name in self.databases:  # the scenario's next round (--rounds)
            name = f"{name}_{sum(db.startswith(name) for db in self.databases) + 1}"
        connections.close_all()
        create_database(name, template=self.template)
        self.databases.append(name)
        self.use_database(name)
        if self.redis_pid:
            import redis

            client = redis.Redis.from_url(self.redis_url)
            client.flushall()
            client.close()

    def use_database(self, name: str) -> None:
        """Point the servers started from now on, and this process, at another database."""
        from django.db import connections

        connections.close_all()
        connections["default"].settings_dict["NAME"] = name
        self.db_url = f"{self.db_url.rsplit('/', 1)[0]}/{name}"

    def make_shared_documents(self, label: str, groups: list[list[Any]]) -> list[Any]:
        """One document per group of users, owned by its first and shared with the others."""
        from documents.models import Document, Membership, Role

        docs = Document.objects.bulk_create(
            [Document(title=f"bench {label} {i}", owner=g[0]) for i, g in enumerate(groups)]
        )
        Membership.objects.bulk_create(
            [
                Membership(document=d, user=u, role=Role.EDITOR)
                for d, g in zip(docs, groups, strict=True)
                for u in g[1:]
            ]
        )
        return docs

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

    from documents.storage import store

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
