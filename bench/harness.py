"""The benchmark harness: `Bench` starts a run's servers, runs the load generator
(yclients/bench-load.mjs) against them and creates users and documents in-process; `stored_text`
and `check_stored` read back what the server stored."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, log
from bench.procstat import CpuSnapshot, Sampler, cpu_delta, snapshot
from bench.services import REDIS_URL, Server
from devtools.child_server import server_environment

YCLIENTS = ROOT / "yclients"
LOADGEN = YCLIENTS / "bench-load.mjs"
MARKER = re.compile("\x01(\\d+)\\.(\\d+)\x02")


@dataclass
class Bench:
    run_id: str
    db_url: str
    tmp: Path
    args: argparse.Namespace
    servers: list[Server] = field(default_factory=list)
    node_processes: list[subprocess.Popen[str]] = field(default_factory=list)
    redis_url: str = REDIS_URL  # the fault suite points its servers at its own Redis

    @property
    def prefix(self) -> str:
        return f"bench{self.run_id}"

    def server(self, name: str, **collab: float) -> Server:
        env = server_environment(self.db_url, self.redis_url, self.prefix, **collab)
        env["LOG_LEVEL"] = "INFO"
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
