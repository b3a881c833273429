"""Named versions are bounded per document and rate limited per user."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from documents.history import services as history
from documents.models import Snapshot
from documents.web import throttle

pytestmark = [pytest.mark.django_db]

START = 1_800_000_000.0  # the start of a minute


@pytest.fixture(autouse=True)
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The throttle's clock, moved on by assigning now[0]."""
    clock = [START]
    monkeypatch.setattr(throttle, "clock", lambda: clock[0])
    return clock


def api(document: Any) -> str:
    return f"/api/documents/{document.pk}/history/"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def save(client: Client, document: Any, label: str) -> Any:
    return client.post(api(document), json.dumps({"label": label}), content_type="application/json")


def named(document: Any) -> int:
    return Snapshot.objects.filter(document=document).exclude(label="").count()


def test_a_document_keeps_at_most_max_named_versions(settings, personas, document, now):
    settings.COLLAB = {"MAX_NAMED_VERSIONS": 3}
    for n in range(3):
        now[0] = START + 60 * n  # clear of the per-minute limit
        history.snapshot_create(document=document, user=personas["owner"], label=f"v{n}")
    now[0] = START + 600
    with pytest.raises(history.VersionLimitReached, match="3 named versions"):
        history.snapshot_create(document=document, user=personas["editor"], label="one more")
    assert named(document) == 3


def test_the_api_refuses_a_version_past_the_limit_with_409(settings, personas, document):
    settings.COLLAB = {"MAX_NAMED_VERSIONS": 2}
    client = client_for(personas["owner"])
    assert save(client, document, "a").status_code == 201
    assert save(client, document, "b").status_code == 201
    response = save(client, document, "c")
    assert response.status_code == 409
    assert "2 named versions" in response.json()["error"]
    assert named(document) == 2


def test_the_page_shows_the_limit_as_an_error(settings, personas, document):
    settings.COLLAB = {"MAX_NAMED_VERSIONS": 1}
    client = client_for(personas["owner"])
    page = f"/documents/{document.pk}/history/"
    client.post(page, {"label": "a"})
    response = client.post(page, {"label": "b"}, follow=True)
    assert "1 named versions" in response.content.decode()
    assert named(document) == 1


def test_a_user_saves_at_most_ten_versions_a_minute(personas, document, now):
    client = client_for(personas["owner"])
    for n in range(10):
        assert save(client, document, f"v{n}").status_code == 201
    response = save(client, document, "v10")
    assert response.status_code == 429
    assert "too quickly" in response.json()["error"]
    # Another user is counted apart; the first may save again the next minute.
    assert save(client_for(personas["editor"]), document, "theirs").status_code == 201
    now[0] = START + 60
    assert save(client, document, "v10").status_code == 201
    assert named(document) == 12


def test_a_refused_version_does_not_use_up_the_rate(settings, personas, document):
    settings.COLLAB = {"MAX_NAMED_VERSIONS": 0}
    client = client_for(personas["owner"])
    for _ in range(12):
        assert save(client, document, "x").status_code == 409
    settings.COLLAB = {}
    assert save(client, document, "x").status_code == 201
