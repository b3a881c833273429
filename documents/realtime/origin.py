"""The WebSocket handshake is refused unless its Origin is one the site is served from.

Channels' AllowedHostsOriginValidator compares host names only, so a page on
another port or scheme of the same host (a different origin to the browser)
could open sockets carrying the user's cookies. Here the whole origin (scheme,
host and port) must equal the one the socket was addressed to, or be one of
CSRF_TRUSTED_ORIGINS (a TLS-terminating proxy makes the browser's origin
https:// while the socket reaches Daphne as ws://). A handshake without an
Origin header (scripts, not browsers) is refused as before.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

Scope = dict[str, Any]
Receive = Any
Send = Any

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_HTTP_SCHEME = {"ws": "http", "wss": "https"}


def _normalized(origin: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) of an origin, the port spelled out; None if it is not one."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = str(parts.port) if parts.port is not None else _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname, port


def _trusted(origin: tuple[str, str, str], pattern: str) -> bool:
    """Whether a CSRF_TRUSTED_ORIGINS entry (possibly `https://*.example.com`) covers the origin."""
    scheme, host, port = origin
    wildcard = "://*." in pattern
    expected = _normalized(pattern.replace("://*.", "://", 1) if wildcard else pattern)
    if expected is None:
        return False
    if (scheme, port) != (expected[0], expected[2]):
        return False
    # As Django's CSRF check reads the same setting: *.example.com covers
    # example.com and every name below it.
    return is_same_domain(host, "." + expected[1] if wildcard else expected[1])


def origin_allowed(scope: Scope) -> bool:
    """Whether the handshake's Origin is the site's own, for an allowed Host."""
    headers = dict(scope.get("headers", []))
    try:
        origin_header = headers.get(b"origin", b"").decode("latin1")
        host_header = headers.get(b"host", b"").decode("latin1")
    except UnicodeDecodeError:
        return False
    origin = _normalized(origin_header) if origin_header else None
    if origin is None:
        return False
    host, _ = split_domain_port(host_header)
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    if not host or not validate_host(host, allowed_hosts):
        return False
    scheme = _HTTP_SCHEME.get(scope.get("scheme", "ws"), "http")
    if origin == _normalized(f"{scheme}://{host_header}"):
        return True
    return any(_trusted(origin, pattern) for pattern in settings.CSRF_TRUSTED_ORIGINS)


class SameOriginValidator:
    """ASGI middleware for WebSockets: a handshake from a foreign origin gets HTTP 403."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if origin_allowed(scope):
            return await self.app(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
