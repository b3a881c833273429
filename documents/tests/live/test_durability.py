"""kill -9 of the server: every edit any client saw is in the database, and the
clients reconnect by themselves and carry on."""

from __future__ import annotations

import re

import pytest

from devtools.waiting import wait_until
from documents.tests.live.test_interop import stored_text
from documents.tests.support.realclients import NodeClient

pytestmark = pytest.mark.django_db(transaction=True)


def test_edits_seen_by_a_peer_survive_kill_9(daphne_server, cookies, document):
    writer = NodeClient(daphne_server.ws_url, document.id, cookies["owner"], daphne_server.url)
    watcher = NodeClient(daphne_server.ws_url, document.id, cookies["editor"], daphne_server.url)
    try:
        writer.wait_synced()
        watcher.wait_synced()
        for i in range(200):
            writer.insert(f"<{i}>")
        # Kill the server the moment the watcher has seen some, but not all, edits.
        seen = watcher.wait_text(lambda t: t.count("<") >= 20)
        daphne_server.kill()
        seen = watcher.text  # everything it saw before the socket died
        seen_chunks = re.findall(r"<\d+>", seen)
        assert seen_chunks, "the watcher saw nothing before the kill"
        stored = stored_text(document.id)
        missing = [chunk for chunk in seen_chunks if chunk not in stored]
        assert not missing, f"{len(missing)} edits a peer saw were not committed"
        print(f"\nwatcher saw {len(seen_chunks)} edits before kill -9; all were in the database")

        # Same port: the stock providers reconnect by themselves and resend
        # whatever the dead server never committed.
        daphne_server.start()
        everything = "".join(f"<{i}>" for i in range(200))
        writer.wait_text(lambda t: t == everything, 20)
        watcher.wait_text(lambda t: t == everything, 20)
        wait_until(lambda: stored_text(document.id) == everything, 10)
    finally:
        writer.close()
        watcher.close()
