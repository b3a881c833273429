"""Real clients against a real Daphne on PostgreSQL and Redis: the stock y-websocket
provider in Node and pycrdt in Python edit one document at once and converge."""

from __future__ import annotations

import asyncio

import pytest
from django.db import connection
from pycrdt import Doc, Text

from devtools.waiting import wait_until
from documents.storage import store
from documents.tests.support.realclients import NodeClient, PyClient


def stored_text(document_id) -> str:
    """The document's text as loaded from the database (snapshot plus log)."""
    try:
        doc = Doc()
        doc.apply_update(store.load(document_id).update)
        return str(doc.get("text", type=Text))
    finally:
        connection.close()  # called from worker threads: leave no session behind


@pytest.mark.django_db(transaction=True)
async def test_stock_and_pycrdt_clients_converge(daphne_server, cookies, document):
    nodes = [
        NodeClient(
            daphne_server.ws_url,
            document.id,
            cookies["owner" if i % 2 else "editor"],
            daphne_server.url,
        )
        for i in range(3)
    ]
    pys = [
        await PyClient(
            daphne_server.ws_url, document.id, cookies["editor"], daphne_server.url
        ).connect()
        for _ in range(2)
    ]
    try:
        for node in nodes:
            node.wait_synced()
        # Everyone types at once; each chunk is unique so none can hide another.
        for round_ in range(20):
            for i, node in enumerate(nodes):
                node.insert(f"[n{i}.{round_}]")
            for i, py in enumerate(pys):
                py.insert(f"[p{i}.{round_}]")
            await asyncio.sleep(0.005)
        expected_chunks = {f"[n{i}.{r}]" for i in range(3) for r in range(20)} | {
            f"[p{i}.{r}]" for i in range(2) for r in range(20)
        }
        total = sum(len(c) for c in expected_chunks)

        def complete(text: str) -> bool:
            return len(text) == total and all(chunk in text for chunk in expected_chunks)

        for node in nodes:
            await asyncio.to_thread(node.wait_text, complete, 15)
        for py in pys:
            await py.wait_text(complete, 15)
        finals = {node.text for node in nodes} | {str(py.text) for py in pys}
        assert len(finals) == 1, "clients did not converge"
        stored = await asyncio.to_thread(
            wait_until, lambda: (t := stored_text(document.id)) in finals and t, 10
        )
        assert stored == finals.pop()
    finally:
        for node in nodes:
            node.close()
        for py in pys:
            await py.close()


@pytest.mark.django_db(transaction=True)
def test_editors_on_two_processes_converge_through_a_kill(server_factory, cookies, document):
    first, second = server_factory(), server_factory()
    clients = [
        NodeClient(server.ws_url, document.id, cookies[name], server.url)
        for server in (first, second)
        for name in ("owner", "editor")
    ]
    try:
        for client in clients:
            client.wait_synced()
        chunks = set()
        for round_ in range(40):
            for i, client in enumerate(clients):
                chunk = f"[{i}.{round_}]"
                chunks.add(chunk)
                client.insert(chunk)
            if round_ == 20:
                second.kill()  # mid-flight: its clients hold edits it never saw
                second.start()
        total = sum(len(c) for c in chunks)

        def complete(text: str) -> bool:
            return len(text) == total and all(chunk in text for chunk in chunks)

        finals = {client.wait_text(complete, 20) for client in clients}
        assert len(finals) == 1, "editors on two processes did not converge"
        wait_until(lambda: stored_text(document.id) in finals, 10)
    finally:
        for client in clients:
            client.close()
