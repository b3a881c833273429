"""Presence with real clients and real servers: stock y-websocket providers in
Node against Daphne on Redis; killed clients and killed servers."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

import pytest

from devtools.waiting import wait_until
from documents.tests.support.realclients import NodeClient

pytestmark = pytest.mark.django_db(transaction=True)


def online_names(server, cookie: str, document_id) -> set[str]:
    request = urllib.request.Request(
        f"{server.url}/api/documents/{document_id}/", headers={"Cookie": cookie}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return {user["name"] for user in json.load(response)["online"]}


def client(server, cookies, name, document) -> NodeClient:
    node = NodeClient(server.ws_url, document.id, cookies[name], server.url)
    node.wait_synced()
    return node


def test_killed_client_disappears_within_two_seconds(daphne_server, cookies, document):
    alice = client(daphne_server, cookies, "owner", document)
    bob = client(daphne_server, cookies, "editor", document)
    try:
        wait_until(lambda: "Editor" in alice.peer_names(), 5)
        wait_until(lambda: "Owner" in bob.peer_names(), 5)
        started = time.monotonic()
        bob.kill()
        wait_until(lambda: "Editor" not in alice.peer_names(), 2.0)
        killed = time.monotonic() - started

        carol = client(daphne_server, cookies, "viewer", document)
        wait_until(lambda: "Viewer" in alice.peer_names(), 5)
        started = time.monotonic()
        carol.close()  # polite: the provider says goodbye and closes the socket
        wait_until(lambda: "Viewer" not in alice.peer_names(), 2.0)
        polite = time.monotonic() - started
        print(
            f"\ncaret gone after: polite close {polite * 1000:.0f} ms, kill -9 {killed * 1000:.0f} ms"
        )
    finally:
        alice.close()
        bob.close()


def test_client_whose_network_vanished_disappears_within_two_seconds(
    daphne_server, cookies, document
):
    alice = client(daphne_server, cookies, "owner", document)
    bob = client(daphne_server, cookies, "editor", document)
    try:
        wait_until(lambda: "Editor" in alice.peer_names(), 5)
        # SIGSTOP: the socket stays open but nothing answers, as when a laptop
        # drops off the network: no FIN, no close frame, no awareness goodbye.
        started = time.monotonic()
        os.kill(bob.process.pid, signal.SIGSTOP)
        wait_until(lambda: "Editor" not in alice.peer_names(), 2.0)
        print(
            f"\ncaret gone {(time.monotonic() - started) * 1000:.0f} ms after the network vanished"
        )
    finally:
        os.kill(bob.process.pid, signal.SIGCONT)
        alice.close()
        bob.kill()


def test_two_server_processes_share_presence_and_the_online_list(server_factory, cookies, document):
    first = server_factory()
    second = server_factory()
    alice = client(first, cookies, "owner", document)
    bob = client(second, cookies, "editor", document)
    try:
        wait_until(lambda: "Editor" in alice.peer_names(), 5)
        wait_until(lambda: "Owner" in bob.peer_names(), 5)
        for server in (first, second):
            wait_until(
                lambda s=server: (
                    online_names(s, cookies["owner"], document.id) == {"Owner", "Editor"}
                ),
                5,
            )
        # Edits cross processes too.
        alice.insert("from the first process ")
        bob.wait_text(lambda t: "from the first process" in t)

        started = time.monotonic()
        bob.close()
        wait_until(lambda: "Editor" not in alice.peer_names(), 2.0)
        print(
            f"\ncross-process polite departure seen after {(time.monotonic() - started) * 1000:.0f} ms"
        )
        for server in (first, second):
            wait_until(
                lambda s=server: online_names(s, cookies["owner"], document.id) == {"Owner"}, 5
            )
    finally:
        alice.close()
        bob.close()


def test_users_of_a_killed_server_vanish_from_the_other(server_factory, cookies, document):
    first = server_factory()
    doomed = server_factory()
    alice = client(first, cookies, "owner", document)
    bob = client(doomed, cookies, "editor", document)
    try:
        wait_until(lambda: "Editor" in alice.peer_names(), 5)
        wait_until(
            lambda: online_names(first, cookies["owner"], document.id) == {"Owner", "Editor"}, 5
        )
        started = time.monotonic()
        doomed.kill()
        # A dead process cannot say goodbye: peers give up on it after
        # PRESENCE_EXPIRY_SECONDS (1.75) without a heartbeat, checked every
        # HEARTBEAT_SECONDS (0.5), so 1.75-2.25 s plus a busy machine's delays.
        wait_until(lambda: "Editor" not in alice.peer_names(), 3.0)
        caret = time.monotonic() - started
        # The surviving room withdraws the dead process's users when it
        # gives up on it, long before their entry would expire by itself.
        wait_until(lambda: online_names(first, cookies["owner"], document.id) == {"Owner"}, 1.0)
        listed = time.monotonic() - started
        print(
            f"\nafter kill -9 of a server: its users' carets gone in {caret * 1000:.0f} ms, "
            f"off the online list in {listed * 1000:.0f} ms"
        )
    finally:
        alice.close()
        bob.kill()
