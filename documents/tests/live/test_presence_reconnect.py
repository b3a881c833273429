"""Presence across a reconnect, with stock y-websocket clients against real Daphne.

A stock client that loses its socket drops everyone's state but keeps their
clocks, and ignores a state at a clock it has seen; its own state comes back
with the clock the server tombstoned. Without the server's re-stamping, an
idle collaborator stays missing from the avatars until their next renewal
(15 s), and the reconnected editor may stay missing for the others.
"""

from __future__ import annotations

import time

import pytest

from devtools.waiting import wait_until
from documents.tests.support.realclients import NodeClient

pytestmark = pytest.mark.django_db(transaction=True)

SEEN_WITHIN = 1.0  # seconds after the reconnect


def client(server, cookies, name, document) -> NodeClient:
    node = NodeClient(server.ws_url, document.id, cookies[name], server.url)
    node.wait_synced()
    return node


def reconnect_and_measure(alice: NodeClient, bob: NodeClient, how: str) -> tuple[float, float]:
    """Alice loses her socket and comes back; Bob stays idle throughout."""
    wait_until(lambda: "Editor" in alice.peer_names(), 5)
    wait_until(lambda: "Owner" in bob.peer_names(), 5)
    alice.command(op=how)
    # The outage lasts until Bob has seen Alice leave: by then the server has
    # tombstoned her and her client has dropped Bob, the state a drop leaves.
    wait_until(lambda: alice.status == "disconnected" and not alice.peer_names(), 5)
    wait_until(lambda: "Owner" not in bob.peer_names(), 5)
    started = time.monotonic()
    alice.command(op="connect")
    wait_until(lambda: "Editor" in alice.peer_names(), SEEN_WITHIN)
    alice_sees_bob = time.monotonic() - started
    wait_until(lambda: "Owner" in bob.peer_names(), SEEN_WITHIN)
    bob_sees_alice = time.monotonic() - started
    return alice_sees_bob, bob_sees_alice


@pytest.mark.parametrize("how", ["disconnect", "drop"])
def test_reconnected_editor_sees_an_idle_collaborator_at_once(
    daphne_server, cookies, document, how
):
    alice = client(daphne_server, cookies, "owner", document)
    bob = client(daphne_server, cookies, "editor", document)
    try:
        first, second = reconnect_and_measure(alice, bob, how)
        print(
            f"\n{how}: Alice sees Bob after {first * 1000:.0f} ms, Bob sees Alice {second * 1000:.0f} ms"
        )
        # Twice over: the clocks the server gave out the first time are the
        # ones the client keeps now.
        first, second = reconnect_and_measure(alice, bob, how)
        print(f"{how} again: {first * 1000:.0f} ms and {second * 1000:.0f} ms")
    finally:
        alice.close()
        bob.close()


def test_reconnect_across_two_server_processes(server_factory, cookies, document):
    one, two = server_factory(), server_factory()
    alice = client(one, cookies, "owner", document)
    bob = client(two, cookies, "editor", document)
    try:
        first, second = reconnect_and_measure(alice, bob, "drop")
        print(
            f"\ntwo processes: Alice sees Bob after {first * 1000:.0f} ms, "
            f"Bob sees Alice {second * 1000:.0f} ms"
        )
        # And an editor joining afterwards sees both, at their current clocks.
        carol = client(two, cookies, "viewer", document)
        try:
            wait_until(lambda: {"Owner", "Editor"} <= carol.peer_names(), 5)
        finally:
            carol.close()
    finally:
        alice.close()
        bob.close()
