"""Hostile request bodies get a 400 with a message from every JSON endpoint, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from documents.history import services as history
from documents.models import Document, Membership, ShareLink, Snapshot
from documents.sharing import services as sharing
from documents.web.json import MAX_BODY_BYTES

pytestmark = [pytest.mark.django_db]

DEPTH = 100_000

# (name, raw body): each must be refused by the one body parser.
HOSTILE: list[tuple[str, bytes]] = [
    ("deep array", b"[" * DEPTH + b"]" * DEPTH),
    ("deep object", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH),
    ("deep inside a field", b'{"label": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"),
    ("NUL", b'{"label": "v\\u0000", "user": "stran\\u0000ger", "role": "viewer"}'),
    ("NUL in a role", b'{"label": "v", "user": "stranger", "role": "viewer\\u0000"}'),
    ("NUL in a key", b'{"label": "v", "user": "stranger", "role": "viewer", "\\u0000": 1}'),
    ("NUL nested", b'{"label": "v", "user": "stranger", "role": "viewer", "x": [[["\\u0000"]]]}'),
    ("lone high surrogate", b'{"label": "\\ud800", "user": "\\ud800", "role": "viewer"}'),
    ("lone low surrogate", b'{"label": "a\\udfffb", "user": "a\\udfff", "role": "viewer"}'),
    ("surrogate in a key", b'{"label": "v", "user": "stranger", "role": "viewer", "\\udc00": 1}'),
    ("not UTF-8", b'{"label": "\xff\xfe", "user": "\xff", "role": "viewer"}'),
    ("not JSON", b'{"label": '),
    ("an array", b'["label", "v"]'),
    ("a string", b'"label"'),
    ("null", b"null"),
    ("too large", b'{"label": "' + b"a" * MAX_BODY_BYTES + b'", "role": "viewer"}'),
]


def owner_client(personas: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(personas["owner"])
    return client


def endpoints(document: Document, personas: dict[str, Any]) -> dict[str, str]:
    """Every JSON endpoint that reads a body, by name."""
    pk = document.pk
    member = personas["viewer"].pk
    return {
        "save version": f"/api/documents/{pk}/history/",
        "share": reverse("api-access", kwargs={"pk": pk}),
        "change role": reverse("api-access-member", kwargs={"pk": pk, "user_id": member}),
        "new link": reverse("api-links", kwargs={"pk": pk}),
    }


def state(document: Document) -> tuple[Any, ...]:
    """What a refused request must leave alone."""
    return (
        Snapshot.objects.filter(document=document).count(),
        sorted(Membership.objects.filter(document=document).values_list("user_id", "role")),
        ShareLink.objects.filter(document=document).count(),
    )


@pytest.mark.parametrize("endpoint", ["save version", "share", "change role", "new link"])
@pytest.mark.parametrize(("case", "raw"), HOSTILE, ids=[case for case, _ in HOSTILE])
def test_hostile_json_is_a_400_with_a_message(personas, document, endpoint, case, raw):
    before = state(document)
    url = endpoints(document, personas)[endpoint]
    response = owner_client(personas).post(url, raw, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    error = response.json()["error"]
    assert isinstance(error, str) and error
    assert state(document) == before


@pytest.mark.parametrize("endpoint", ["save version", "share", "change role", "new link"])
def test_nul_in_a_form_field_is_a_400(personas, document, endpoint):
    before = state(document)
    url = endpoints(document, personas)[endpoint]
    fields = {"label": "v\x00", "user": "stran\x00ger", "role": "viewer\x00"}
    response = owner_client(personas).post(url, fields)
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]
    assert state(document) == before


def test_declared_length_over_the_limit_is_refused_unread(personas, document):
    url = endpoints(document, personas)["save version"]
    response = owner_client(personas).post(
        url,
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(MAX_BODY_BYTES + 1),
    )
    assert response.status_code == 400
    assert "larger" in response.json()["error"]


@pytest.mark.parametrize(
    "suffix", ["history/{snapshot}/restore/", "links/{token}/", "access/{member}/"]
)
@pytest.mark.parametrize(("case", "raw"), HOSTILE[:4], ids=[case for case, _ in HOSTILE[:4]])
def test_endpoints_that_read_no_body_ignore_a_hostile_one(personas, document, suffix, case, raw):
    """POSTs whose meaning is all in the URL still never fail on their body."""
    snapshot = history.snapshot_create(document=document, user=personas["owner"], label="v")
    link = sharing.link_create(document=document, by=personas["owner"], role="viewer")
    url = f"/api/documents/{document.pk}/" + suffix.format(
        snapshot=snapshot.pk, token=link.token, member=personas["viewer"].pk
    )
    client = owner_client(personas)
    response = client.generic("DELETE" if "access" in suffix else "POST", url, raw)
    assert response.status_code < 500


def test_history_page_form_refuses_a_nul_label(personas, document):
    response = owner_client(personas).post(f"/documents/{document.pk}/history/", {"label": "v\x00"})
    assert response.status_code == 302
    assert not Snapshot.objects.filter(document=document).exists()


@pytest.mark.parametrize(
    ("label", "stored"),
    [("v\x001", "v1"), ("a\ud800b", "ab"), ("\x00 x \x07", "x"), ("tab\there", "tab here")],
)
def test_labels_never_carry_nul_or_surrogates_to_the_database(personas, document, label, stored):
    """Whatever path a label takes, the service stores only printable text."""
    snapshot = history.snapshot_create(document=document, user=personas["owner"], label=label)
    snapshot.refresh_from_db()
    assert snapshot.label == stored


def test_a_clean_body_still_works(personas, document):
    response = owner_client(personas).post(
        f"/api/documents/{document.pk}/history/",
        '{"label": "caf\\u00e9 \\ud83d\\ude00"}',
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["version"]["label"] == "café 😀"
