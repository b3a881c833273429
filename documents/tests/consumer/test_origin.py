"""The WebSocket handshake compares the whole Origin (scheme, host, port) with the site's."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from documents.realtime import protocol
from documents.realtime.registry import registry
from documents.tests.support.sessions import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def handshake(
    personas, document, *, host: str, origin: str | None, scheme: str = "ws"
) -> object | None:
    """The greeting of an accepted socket on the real ASGI application, or None if refused."""
    from editor_project.asgi import application

    headers = [(b"host", host.encode()), (b"cookie", session_cookie(personas["owner"]).encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))

    async def scenario() -> object | None:
        communicator = WebsocketCommunicator(application, f"/ws/documents/{document.id}", headers)
        communicator.scope["scheme"] = scheme
        connected, _ = await communicator.connect()
        if not connected:
            return None
        greeting = await communicator.receive_from()
        await communicator.disconnect()
        await registry().close()
        return protocol.decode(greeting)

    return async_to_sync(scenario)()


@pytest.mark.parametrize(
    ("scheme", "host", "origin", "accepted"),
    [
        ("ws", "127.0.0.1:8000", "http://127.0.0.1:8000", True),
        ("ws", "localhost", "http://localhost", True),
        ("ws", "localhost", "http://localhost:80", True),
        ("wss", "localhost", "https://localhost", True),
        # Another port of the same host is another origin.
        ("ws", "127.0.0.1:8000", "http://127.0.0.1:9000", False),
        ("ws", "127.0.0.1:8000", "http://127.0.0.1", False),
        # So is the other scheme.
        ("ws", "127.0.0.1:8000", "https://127.0.0.1:8000", False),
        ("wss", "localhost", "http://localhost", False),
        ("ws", "127.0.0.1:8000", "http://evil.example", False),
        ("ws", "127.0.0.1:8000", "null", False),
        # Scripts send no Origin: refused, as before.
        ("ws", "127.0.0.1:8000", None, False),
    ],
)
def test_only_the_same_origin_may_open_a_socket(personas, document, scheme, host, origin, accepted):
    greeting = handshake(personas, document, host=host, origin=origin, scheme=scheme)
    assert (greeting is not None) == accepted
    if accepted:
        assert isinstance(greeting, protocol.SyncStep1)


def test_a_host_outside_allowed_hosts_is_refused_even_with_a_matching_origin(personas, document):
    assert handshake(personas, document, host="evil.example", origin="http://evil.example") is None


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("https://docs.example.com", True),
        ("https://docs.example.com:8443", False),
        ("https://docs.example.com.evil.example", False),
        ("https://app.example.org", True),
        ("https://app.example.org:444", False),
    ],
)
def test_trusted_origins_cover_a_tls_proxy(settings, personas, document, origin, accepted):
    # The proxy terminates TLS: the browser's origin is https:// while the
    # socket reaches Daphne as plain ws://.
    settings.ALLOWED_HOSTS = ["docs.example.com", ".example.org"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://docs.example.com", "https://*.example.org"]
    host = "docs.example.com" if "docs" in origin else "app.example.org"
    # (http://docs.example.com with Host docs.example.com is simply the same origin.)
    greeting = handshake(personas, document, host=host, origin=origin)
    assert (greeting is not None) == accepted
