"""Who is here, in the browser: presence that survives a network drop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from devtools.tcp_proxy import TcpProxy
from e2e.conftest import Peer

BOB_SHOWN = "() => !!document.querySelector('#avatars .avatar[data-name=Bob]')"
ALICE_SHOWN = "() => !!document.querySelector('#avatars .avatar[data-name=Alice]')"
# What a page knows of its connection and its peers, for a failure to say.
PAGE_STATE = """() => ({
  visibility: document.visibilityState,
  status: document.body.dataset.status,
  socketOpen: window.__provider ? window.__provider.wsconnected : null,
  awarenessClients: window.__provider ? window.__provider.awareness.getStates().size : null,
  avatars: Array.from(document.querySelectorAll('#avatars .avatar')).map(e => e.dataset.name),
})"""


def wait_for(peer: Peer, predicate: str, timeout: float = 10_000) -> None:
    """Poll on a timer, not on animation frames (a page in the background gets
    none), and say what the page saw when the condition never held."""
    try:
        peer.page.wait_for_function(predicate, polling=100, timeout=timeout)
    except PlaywrightTimeout:
        state = peer.page.evaluate(PAGE_STATE)
        raise AssertionError(f"{peer.name}'s page never met {predicate}: {state}") from None


@pytest.fixture
def network(daphne_server: Any) -> Iterator[TcpProxy]:
    """Alice's network: a proxy in front of the server that the test can cut."""
    proxy = TcpProxy(daphne_server.port)
    yield proxy
    proxy.stop()


def test_after_a_network_drop_the_idle_peer_is_there_at_once(
    alice: Peer, bob: Peer, doc: Any, network: TcpProxy, make_peer: Callable[[Any], Peer]
):
    """Bob stays idle (his client renews its state only every 15 s). Alice's
    network drops and comes back: she sees Bob at once, and Bob sees her."""
    alice.base_url = network.url
    alice.open(doc)
    bob.open(doc)
    wait_for(alice, BOB_SHOWN)
    wait_for(bob, ALICE_SHOWN)

    network.cut()
    wait_for(alice, f"() => !({BOB_SHOWN})()")
    wait_for(bob, f"() => !({ALICE_SHOWN})()")

    network.restore()
    back = time.monotonic()
    alice.wait_status("connected")
    wait_for(alice, BOB_SHOWN, timeout=2_000)
    alice_sees_bob = time.monotonic() - back
    wait_for(bob, ALICE_SHOWN, timeout=2_000)
    bob_sees_alice = time.monotonic() - back
    print(
        f"after the drop: Alice sees Bob in {alice_sees_bob:.2f} s, "
        f"Bob sees Alice in {bob_sees_alice:.2f} s"
    )
