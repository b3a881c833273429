"""Presence across two server processes under steady typing: as fast as edits, and nobody
connected is ever taken for gone.

Stock y-websocket clients in Node (yclients/fault-load.mjs), each document's clients split
over two Daphne processes, every client typing and moving its caret. With channels_redis's
list-based layer this load left each process a second or more behind on its channel-layer
messages (cross-process carets p90 1.3-1.9 s here, p50 1.9 s on a busy machine),
and carets of connected editors expired when the backlog passed the expiry.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bench import fault_analysis as fa
from devtools import processes
from devtools.paths import YCLIENTS
from devtools.waiting import wait_until
from documents.models import Document, Membership, Role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("integration")]

DOCUMENTS, CLIENTS, RATE, CARET_RATE = 10, 4, 5, 2
TYPING_SECONDS = 12.0
WARMUP_SECONDS = 2.0  # the first moves race the processes' hellos
P90_BAR_SECONDS = 1.0  # cross-process carets; same-process ones take about 50 ms


class Load:
    """fault-load.mjs: its JSON-line events, read on a thread."""

    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen(
            ["node", "fault-load.mjs", str(config)],
            cwd=YCLIENTS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.events: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            with self._changed:
                self.events[event.get("event", "?")] = event
                self._changed.notify_all()

    def wait(self, name: str, timeout: float) -> dict[str, Any]:
        with self._changed:
            if not self._changed.wait_for(
                lambda: name in self.events or self.proc.poll() is not None, timeout
            ):
                raise AssertionError(f"fault-load: no {name!r} within {timeout} s")
        if name not in self.events:
            raise AssertionError(f"fault-load exited ({self.proc.returncode}) before {name!r}")
        event = self.events[name]
        assert "fatal" not in event, event["fatal"]
        return event

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        processes.kill(self.proc)


def test_carets_cross_processes_promptly_and_connected_editors_never_vanish(
    server_factory, personas, cookies, tmp_path
):
    writers = ["owner", "editor", "viewer", "stranger"]
    docs = [
        Document.objects.create(title=f"Presence {i}", owner=personas["owner"])
        for i in range(DOCUMENTS)
    ]
    Membership.objects.bulk_create(
        [
            Membership(document=d, user=personas[w], role=Role.EDITOR)
            for d in docs
            for w in writers[1:]
        ]
    )
    servers = [server_factory(), server_factory()]
    dump = tmp_path / "clients.json"
    config = tmp_path / "load.json"
    config.write_text(
        json.dumps(
            {
                "servers": [{"url": s.ws_url, "origin": s.url} for s in servers],
                "documents": [
                    {"documentId": str(d.pk), "cookies": [cookies[w] for w in writers]}
                    for d in docs
                ],
                "clients": CLIENTS,
                "rate": RATE,
                "awarenessRate": CARET_RATE,
                "maxSeconds": TYPING_SECONDS + 30,
                "maxWaitMs": 10000,
                "dump": str(dump),
            }
        )
    )
    load = Load(config)
    try:
        ready = load.wait("ready", 30)["epochMs"] / 1000
        # The load runs for its time (or ends early, which the next wait reports).
        wait_until(
            lambda: time.time() >= ready + TYPING_SECONDS or load.proc.poll() is not None,
            TYPING_SECONDS + 5,
            interval=0.2,
        )
        load.stop()
        stopped = load.wait("stopped", 10)["epochMs"] / 1000
        result = load.wait("result", 30)
    finally:
        load.kill()
    clients = json.loads(dump.read_text())["clients"]

    cross = fa.caret_latencies(clients, ready + WARMUP_SECONDS, stopped, cross=True)
    same = fa.caret_latencies(clients, ready + WARMUP_SECONDS, stopped, cross=False)
    removed = fa.removed_while_connected(clients)
    _, seen, expected = fa.deliveries(clients)
    lost_layer = [
        line for s in servers for line in s.log().splitlines() if "lost the channel layer" in line
    ]
    p50, p90, p99 = (fa.quantile(cross, q) for q in (0.5, 0.9, 0.99))
    print(
        f"\n{DOCUMENTS} documents x {CLIENTS} clients over 2 processes x {RATE} edits/s,"
        f" carets {CARET_RATE}/s for {stopped - ready:.0f} s: cross-process carets"
        f" p50 {p50 * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        f" ({len(cross)} arrivals); same process p50 {fa.quantile(same, 0.5) * 1000:.0f} ms;"
        f" edits delivered {100 * seen / expected:.1f}%; carets removed while their owner"
        f" was connected: {len(removed)}; 'lost the channel layer': {len(lost_layer)}"
    )

    assert result.get("clientExceptions", 0) == 0
    assert all(c["connected"] for c in clients), "every client stayed connected"
    # Every client saw every caret on the other process move, all along.
    for c in clients:
        for peer in clients:
            if peer["doc"] != c["doc"] or peer["server"] == c["server"]:
                continue
            moves = [moved for _, gid, moved in c["carets"] if gid == peer["gid"]]
            assert moves and max(moves) / 1000 > stopped - 2.0, (
                f"client {c['gid']} stopped seeing client {peer['gid']}'s caret"
            )
    assert p90 < P90_BAR_SECONDS, f"cross-process carets p90 {p90:.2f} s"
    assert not removed, (
        f"carets of connected clients removed (time, observer, owner): {removed[:5]}"
    )
    assert not lost_layer, lost_layer[:3]
