"""Every page carries a strict Content-Security-Policy, and no page needs inline script."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from editor_project.csp import TIPTAP_STYLE_HASH

pytestmark = [pytest.mark.django_db]


def directives(header: str) -> dict[str, list[str]]:
    """The policy as directive name -> sources."""
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def pages(document) -> list[tuple[str, bool]]:
    """(path, logged in) for every HTML page."""
    return [
        (reverse("document-list"), True),
        (reverse("document-edit", kwargs={"pk": document.pk}), True),
        (reverse("document-history", kwargs={"pk": document.pk}), True),
        (reverse("document-delete", kwargs={"pk": document.pk}), True),
        (reverse("login"), False),
        (reverse("signup"), False),
        (reverse("document-list"), False),
    ]


def fetch(personas, path: str, logged_in: bool, **extra: str):
    client = Client()
    if logged_in:
        client.force_login(personas["owner"])
    return client.get(path, **extra)


def test_every_page_has_the_policy_and_no_inline_script(personas, document):
    for path, logged_in in pages(document):
        response = fetch(personas, path, logged_in)
        assert response.status_code in (200, 302), path
        policy = directives(response["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["form-action"] == ["'self'"]
        assert policy["img-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'", f"'{TIPTAP_STYLE_HASH}'"]
        assert policy["style-src-attr"] == ["'unsafe-inline'"]
        assert policy["default-src"] == ["'self'"]
        assert "'unsafe-inline'" not in policy["script-src"]
        assert "'unsafe-eval'" not in policy["script-src"]
        if response.status_code != 200:
            continue
        html = response.content.decode()
        # A script element must load a file or be data (json_script).
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert "javascript:" not in html, path
        assert "<style" not in html, path


@pytest.mark.parametrize(
    ("secure", "host", "expected"),
    [(False, "127.0.0.1:8000", "ws://127.0.0.1:8000"), (True, "localhost", "wss://localhost")],
)
def test_connect_src_names_the_pages_own_socket_origin(personas, document, secure, host, expected):
    path = reverse("document-edit", kwargs={"pk": document.pk})
    response = fetch(personas, path, True, HTTP_HOST=host, secure=secure)
    assert directives(response["Content-Security-Policy"])["connect-src"] == ["'self'", expected]


def test_static_files_and_errors_carry_it_too(personas):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert "script-src 'self'" in response["Content-Security-Policy"]
    response = Client().get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "script-src 'self'" in response["Content-Security-Policy"]
