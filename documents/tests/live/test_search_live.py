"""Search follows typing: a word typed through a real socket into a real Daphne server is
found by another member's search within the text mirror's debounce."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import urllib.request

import pytest
from pycrdt import XmlElement, XmlFragment, XmlText

from documents.realtime import text_mirror
from documents.tests.support.realclients import PyClient

pytestmark = pytest.mark.django_db(transaction=True)


def search_titles(server, cookie: str, query: str) -> list[str]:
    url = f"{server.url}/api/documents/?{urllib.parse.urlencode({'q': query})}"
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=5) as response:
        return [d["title"] for d in json.load(response)["documents"]]


async def test_a_word_typed_is_found_by_search_within_the_debounce(
    daphne_server, cookies, document
):
    typist = await PyClient(
        daphne_server.ws_url, document.id, cookies["editor"], daphne_server.url
    ).connect()
    try:
        assert (
            await asyncio.to_thread(search_titles, daphne_server, cookies["viewer"], "zebracorn")
            == []
        )
        fragment = typist.doc.get("default", type=XmlFragment)
        fragment.children.append(XmlElement("paragraph", {}, [XmlText("a zebracorn appears")]))
        typed = time.monotonic()
        # The debounce, plus room for a loaded machine; polled, never slept through.
        deadline = typed + text_mirror.SAVE_AFTER_SECONDS + 5
        while True:
            found = await asyncio.to_thread(
                search_titles, daphne_server, cookies["viewer"], "zebrac"
            )
            if found:
                break
            assert time.monotonic() < deadline, "the typed word was never found"
            await asyncio.sleep(0.05)
        assert found == ["Test document"]
        # A stranger's search does not find it.
        assert (
            await asyncio.to_thread(search_titles, daphne_server, cookies["stranger"], "zebracorn")
            == []
        )
    finally:
        await typist.close()
