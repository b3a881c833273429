"""A server crash and restart: nothing saved is lost, and open editors carry on by themselves."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.conftest import Peer
from e2e.test_collaboration import wait_converged, wait_stored


# It kills and restarts its server: one of its own, not the one other tests share.
@pytest.mark.private_server
def test_a_server_restart_keeps_the_content_and_both_editors_reconnect_and_keep_co_editing(
    both: tuple[Peer, Peer], doc: Any, daphne_server: Any
):
    alice, bob = both
    alice.focus_end()
    alice.type("Alice before the crash.")
    bob.wait_text_contains("Alice before the crash.")
    bob.focus_end()
    bob.press("Enter")
    bob.type("Bob before the crash.")
    alice.wait_text_contains("Bob before the crash.")
    alice.wait_saved()
    bob.wait_saved()

    daphne_server.kill()  # SIGKILL: no goodbye, no flush
    alice.wait_status("offline")
    bob.wait_status("offline")
    # Written while the server is down: kept in the browser, sent after the reconnect.
    alice.focus_end()
    alice.press("Enter")
    alice.type("Alice during the outage.")
    expect(alice.page.locator("#connection-status")).to_contain_text("unsynced changes")

    daphne_server.start()  # the same port: the pages' providers find it on their own
    alice.wait_status("connected", timeout=20_000)
    bob.wait_status("connected", timeout=20_000)
    bob.wait_text_contains("Alice during the outage.")

    bob.focus_end()
    bob.press("Enter")
    bob.type("Bob after the restart.")
    alice.wait_text_contains("Bob after the restart.")
    alice.focus_end()
    alice.press("Enter")
    alice.type("Alice after the restart.")
    bob.wait_text_contains("Alice after the restart.")
    alice.wait_saved()
    bob.wait_saved()

    text = wait_converged(alice, bob)
    for line in (
        "Alice before the crash.",
        "Bob before the crash.",
        "Alice during the outage.",
        "Bob after the restart.",
        "Alice after the restart.",
    ):
        assert text.count(line) == 1, (line, text)
    wait_stored(doc, text)
    for peer in (alice, bob):
        expect(peer.page.locator("#connection-status")).to_have_text("Connected")
