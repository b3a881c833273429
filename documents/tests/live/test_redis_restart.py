"""Redis restarts under two server processes while editors type: nothing splits.

A Redis without persistence comes back empty: no group memberships, no queued
messages, no who-is-online. Sockets must stay open through the outage (the
channel layer is the fast path, not the socket's lifeline), and once Redis is
back each room rejoins its group, re-announces its editors and catches up from
the database, so the editors on both processes converge within seconds.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.child_server import ChildServer
from devtools.waiting import wait_until
from documents.models import Document, Membership, Role
from documents.tests.live.test_interop import stored_text
from documents.tests.support.faults import ThrowawayRedis, server_env_on
from documents.tests.support.realclients import NodeClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("integration")]

OUTAGE_SECONDS = 2.0
CONVERGE_BAR_SECONDS = 5.0  # after Redis is back (the goal is 2)
TYPING_INTERVAL = 0.02  # per typist: 50 edits/s


@pytest.fixture
def redis_server() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis().start()
    yield server
    server.stop()


@pytest.fixture
def two_servers(
    redis_server: ThrowawayRedis, transactional_db: None, tmp_path: Path
) -> Iterator[list[ChildServer]]:
    servers = [
        ChildServer(server_env_on(redis_server.url), tmp_path / f"redis-restart-{i}.log")
        for i in range(2)
    ]
    try:
        yield [server.start() for server in servers]
    finally:
        for server in servers:
            server.stop()


class Typist(threading.Thread):
    """Types unique tokens into one client at a steady rate until stopped."""

    def __init__(self, client: NodeClient, tag: str) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.tag = tag
        self.typed: list[str] = []
        self._lock = threading.Lock()
        self._halted = threading.Event()

    def run(self) -> None:
        for i in itertools.count():
            if self._halted.wait(TYPING_INTERVAL):
                return
            token = f"<{self.tag}{i}>"
            self.client.insert(token)
            with self._lock:
                self.typed.append(token)

    def so_far(self) -> list[str]:
        with self._lock:
            return list(self.typed)

    def halt(self) -> list[str]:
        self._halted.set()
        if self.ident is not None:
            self.join(5)
        return self.so_far()


def has_all(client: NodeClient, tokens: list[str]) -> bool:
    text = client.text
    return all(token in text for token in tokens)


def converge(clients: list[NodeClient], tokens: list[str], timeout: float) -> None:
    try:
        wait_until(lambda: all(has_all(c, tokens) for c in clients), timeout)
    except AssertionError:
        missing = [[t for t in tokens if t not in c.text] for c in clients]
        raise AssertionError(
            f"not converged within {timeout} s; missing per client: "
            + "; ".join(f"{len(m)} (e.g. {m[:5]})" for m in missing)
        ) from None


def healthz(server: ChildServer) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as error:
        return dict(json.load(error))


def socket_counts(redis_server: ThrowawayRedis, document_id: Any) -> list[int]:
    return sorted(e["connections"] for e in redis_server.online_entries(document_id).values())


def test_editors_on_two_processes_converge_after_a_redis_restart(
    redis_server, two_servers, cookies, document, personas
):
    first, second = two_servers
    other = Document.objects.create(title="Opened during the outage", owner=personas["owner"])
    Membership.objects.create(document=other, user=personas["editor"], role=Role.EDITOR)
    alice = NodeClient(first.ws_url, document.id, cookies["owner"], first.url)
    bob = NodeClient(second.ws_url, document.id, cookies["editor"], second.url)
    carol = NodeClient(second.ws_url, document.id, cookies["viewer"], second.url)
    editors = [alice, bob, carol]
    clients = list(editors)
    alice_typist, bob_typist = typists = [Typist(alice, "a"), Typist(bob, "b")]
    try:
        for client in clients:
            client.wait_synced()
        # Setup on a busy machine: generous deadlines; the outage's are tight.
        wait_until(lambda: {"Editor", "Viewer"} <= alice.peer_names(), 10)
        wait_until(lambda: "Owner" in bob.peer_names(), 10)
        wait_until(lambda: socket_counts(redis_server, document.id) == [1, 2], 10)

        for typist in typists:
            typist.start()
        wait_until(lambda: all(len(t.so_far()) >= 20 for t in typists), 5)

        redis_server.kill()
        down_at = time.monotonic()
        # Typing goes on through the outage; each process keeps its editors
        # going, and a document first opened now opens from the database alone.
        dora = NodeClient(first.ws_url, other.id, cookies["owner"], first.url)
        clients.append(dora)
        dora.wait_synced(5)
        dora.insert("<opened-offline>")
        # Then only Alice types: while both sides type, each commit's gap in
        # the sequence heals the other side's edits from the database, channel
        # layer or not. Bob's side can only learn of hers through the layer.
        wait_until(lambda: time.monotonic() - down_at >= OUTAGE_SECONDS - 0.5, OUTAGE_SECONDS)
        bob_typist.halt()
        wait_until(lambda: time.monotonic() - down_at >= OUTAGE_SECONDS, OUTAGE_SECONDS)
        redis_server.start()
        back_at = time.monotonic()
        typed_before_back = [token for t in typists for token in t.so_far()]
        assert len(alice_typist.so_far()) > len(bob_typist.so_far()), "alice typed alone"

        converge(editors, typed_before_back, CONVERGE_BAR_SECONDS)
        converged = time.monotonic() - back_at

        # A little more typing after the return, then stop.
        wait_until(lambda: time.monotonic() - back_at >= 1.0, 2)
        typed = [token for t in typists for token in t.halt()]
        converge(editors, typed, CONVERGE_BAR_SECONDS)
        wait_until(lambda: alice.text == bob.text == carol.text, 5)

        assert not any(c.closes for c in clients), (
            f"sockets closed during the outage: {[c.closes for c in clients]}"
        )
        stored = stored_text(document.id)
        missing = [token for token in typed if token not in stored]
        assert not missing, f"{len(missing)} typed edits are not in the database"

        # One side types alone: only the fast path (or heartbeats) can carry it.
        tail = [f"<tail{i}>" for i in range(30)]
        for token in tail:
            alice.insert(token)
        started = time.monotonic()
        bob.wait_text(lambda t: all(token in t for token in tail), 3)
        carol.wait_text(lambda t: all(token in t for token in tail), 3)
        tail_seconds = time.monotonic() - started
        back_tail = [f"<back{i}>" for i in range(30)]
        for token in back_tail:
            bob.insert(token)
        alice.wait_text(lambda t: all(token in t for token in back_tail), 3)

        # The room opened during the outage joined its group once Redis was back.
        erin = NodeClient(second.ws_url, other.id, cookies["editor"], second.url)
        clients.append(erin)
        erin.wait_synced()
        erin.wait_text(lambda t: "<opened-offline>" in t, 3)
        erin.insert("<from-erin>")
        dora.wait_text(lambda t: "<from-erin>" in t, 3)

        # Awareness crosses processes again, both ways.
        wait_until(lambda: {"Editor", "Viewer"} <= alice.peer_names(), 5)
        wait_until(lambda: "Owner" in bob.peer_names(), 5)
        alice.set_awareness({"cursor": {"mark": "after-restart"}})
        wait_until(lambda: _has_state(bob, alice.client_id, "after-restart"), 3)
        bob.set_awareness({"cursor": {"mark": "bob-after-restart"}})
        wait_until(lambda: _has_state(alice, bob.client_id, "bob-after-restart"), 3)

        # The true count of sockets, per process, in who-is-online; and both
        # processes healthy again.
        wait_until(lambda: socket_counts(redis_server, document.id) == [1, 2], 5)
        for server in two_servers:
            wait_until(lambda s=server: healthz(s)["status"] == "ok", 5)

        # Everyone leaves: no zombie socket keeps the document counted.
        for client in clients:
            client.close()
        wait_until(lambda: socket_counts(redis_server, document.id) == [], 5)
        wait_until(lambda: socket_counts(redis_server, other.id) == [], 5)
        final = stored_text(document.id)
        for server in two_servers:
            late = NodeClient(server.ws_url, document.id, cookies["owner"], server.url)
            clients.append(late)
            late.wait_synced()
            late.wait_text(lambda t: t == final, 5)
        assert len(re.findall(r"<[a-z]+\d+>", final)) == len(typed) + len(tail) + len(back_tail)
        print(
            f"\nRedis down {back_at - down_at:.1f} s; {len(typed_before_back)} edits typed by then "
            f"reached every editor {converged * 1000:.0f} ms after it was back; "
            f"{len(typed)} edits in all, every one stored; one-sided tail crossed in "
            f"{tail_seconds * 1000:.0f} ms"
        )
    except BaseException:
        for server in two_servers:
            print(f"--- {server.log_path.name}\n{server.log()[-4000:]}")
        raise
    finally:
        for typist in typists:
            typist.halt()
        for client in clients:
            client.close()


def _has_state(client: NodeClient, client_id: int | None, mark: str) -> bool:
    with client._lock:
        return any(
            p["clientId"] == client_id
            and isinstance((p["state"] or {}).get("cursor"), dict)
            and p["state"]["cursor"].get("mark") == mark
            for p in client.peers
        )
