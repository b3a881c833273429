"""A socket's log lines carry its id, and never what was typed."""

from __future__ import annotations

import logging
import re

import pytest

from documents.realtime.close_codes import CloseCode
from documents.tests.support.wsclient import PeerClient
from editor_project import logs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]

SECRET = "launch-codes-7731"


@pytest.fixture
def lines():
    """Every record of this test, at every level, with the ids attached."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep(level=logging.DEBUG)
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    documents = logging.getLogger("documents")
    documents_level = documents.level
    documents.setLevel(logging.DEBUG)
    yield seen
    root.removeHandler(handler)
    root.setLevel(level)
    documents.setLevel(documents_level)


async def test_a_refusal_is_logged_with_the_sockets_id(personas, document, lines):
    peer = PeerClient(personas["stranger"], document.id)
    await peer.connect()
    assert await peer.wait_closed() == CloseCode.NOT_FOUND
    (refused,) = [r for r in lines if r.getMessage().startswith("refused socket")]
    assert re.fullmatch(r"[0-9a-f]{12}", refused.socket_id)


async def test_what_editors_type_and_name_is_never_logged(personas, document, lines):
    owner = await PeerClient(personas["owner"], document.id).connect()
    await owner.sync()
    editor = await PeerClient(personas["editor"], document.id).connect()
    await editor.sync()
    await owner.edit(SECRET)
    await editor.wait_text(SECRET)
    # A frame that is refused: its bytes are not quoted either.
    await editor.send(b"\x00\x02" + bytes([len(SECRET)]) + SECRET.encode())
    await editor.wait_closed()
    await owner.close()
    assert lines, "nothing was logged at all: the test would prove nothing"
    for line in lines:
        text = line.getMessage() + str(line.args or "")
        assert SECRET not in text, line.getMessage()
        assert SECRET.encode().hex() not in text, line.getMessage()
