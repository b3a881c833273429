"""Content-Security-Policy header on every response, with the page's own WebSocket origin."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase

HEADER = "Content-Security-Policy"
TIPTAP_STYLE_HASH = "sha256-PlumsSlvJ7vvWzjqibGAYKq92O3y/4JTxWWsWJvyUYA="

# No inline script anywhere: the editor's configuration travels in a
# json_script element, which is data and never executed.
_FIXED: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'none'"),
    ("frame-ancestors", "'none'"),
    ("form-action", "'self'"),
    # Images come from our origin only: the favicon is a static SVG (and
    # /favicon.ico redirects to it); nothing uses data: URLs.
    ("img-src", "'self'"),
    # Stylesheets from our origin, and one <style> element: the stylesheet
    # Tiptap injects (its injectCSS option), allowed by the hash of its exact
    # text. A Tiptap upgrade that changes it shows up in e2e/test_csp.py.
    ("style-src", f"'self' '{TIPTAP_STYLE_HASH}'"),
    # Style attributes stay allowed: the avatars' colours are per-user
    # style="" markup, and the collaboration caret sets its colour with
    # setAttribute("style"), which CSP treats as markup, not CSSOM. A style
    # attribute cannot run script.
    ("style-src-attr", "'unsafe-inline'"),
)


def policy_for(request: HttpRequest) -> str:
    """The policy for this request: the fixed directives plus the socket origin of its host."""
    # 'self' does not match ws:/wss: in every browser, so the socket origin is
    # named; the Host has already passed ALLOWED_HOSTS by the time a view runs.
    scheme = "wss" if request.is_secure() else "ws"
    directives = [*_FIXED, ("connect-src", f"'self' {scheme}://{request.get_host()}")]
    return "; ".join(f"{name} {value}" for name, value in directives)


class ContentSecurityPolicyMiddleware:
    """Add the policy to responses that do not set one themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if HEADER not in response:
            try:
                response[HEADER] = policy_for(request)
            except DisallowedHost:
                # A disallowed Host makes get_host() raise; that request is
                # answered with 400 and needs no socket origin.
                response[HEADER] = "; ".join(f"{n} {v}" for n, v in _FIXED)
        return response
