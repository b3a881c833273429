"""Who is here, in the browser: presence that survives a network drop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.tcp_proxy import TcpProxy
from e2e.conftest import Peer

BOB_SHOWN = "() => !!document.querySelector('#avatars .avatar[data-name=Bob]')"
ALICE_SHOWN = "() => !!document.querySelector('#avatars .avatar[data-name=Alice]')"


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
    alice.page.wait_for_function(BOB_SHOWN)
    bob.page.wait_for_function(ALICE_SHOWN)

    network.cut()
    alice.page.wait_for_function(f"() => !({BOB_SHOWN})()")
    bob.page.wait_for_function(f"() => !({ALICE_SHOWN})()")

    network.restore()
    back = time.monotonic()
    alice.wait_status("connected")
    alice.page.wait_for_function(BOB_SHOWN, timeout=2_000)
    alice_sees_bob = time.monotonic() - back
    bob.page.wait_for_function(ALICE_SHOWN, timeout=2_000)
    bob_sees_alice = time.monotonic() - back
    print(
        f"after the drop: Alice sees Bob in {alice_sees_bob:.2f} s, "
        f"Bob sees Alice in {bob_sees_alice:.2f} s"
    )
