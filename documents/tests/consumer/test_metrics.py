"""GET /metrics: who may read it, and what it counts while editors work."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import AsyncClient, RequestFactory
from prometheus_client.parser import text_string_to_metric_families

from devtools.waiting import eventually
from documents.metrics import metrics_view
from documents.realtime.close_codes import CloseCode
from documents.tests.support.wsclient import PeerClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]


async def scrape(**extra) -> dict[str, float]:
    response = await AsyncClient().get("/metrics", **extra)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    figures: dict[str, float] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            figures[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return figures


async def status(address: str, **headers: str) -> int:
    request = RequestFactory().get("/metrics", REMOTE_ADDR=address, headers=headers)
    try:
        return (await metrics_view(request)).status_code
    except Http404:
        return 404


async def test_only_allowed_addresses_or_the_token_may_read_it(settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert (await AsyncClient().get("/metrics")).status_code == 200  # loopback, through the URLconf
    assert await status("::1") == 200
    outsider = "203.0.113.9"
    assert await status(outsider) == 404
    assert (
        await AsyncClient().get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    ).status_code == 200
    assert await status(outsider, X_Forwarded_For="127.0.0.1") == 404  # not a way in
    assert await status(outsider, Authorization="Bearer guess") == 404
    assert await status(outsider, Authorization="Bearer s3cret-metrics-token") == 200
    settings.METRICS_ALLOWED_ADDRESSES = ["203.0.113.0/24"]
    assert await status(outsider) == 200
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = []
    # No token configured: an empty bearer is no key, and loopback is no longer enough.
    assert await status("127.0.0.1", Authorization="Bearer ") == 404


async def test_it_counts_sockets_rooms_commits_and_refusals(personas, document):
    before = await scrape()
    owner = await (await PeerClient(personas["owner"], document.id).connect()).sync()
    editor = await (await PeerClient(personas["editor"], document.id).connect()).sync()
    for word in ("one ", "two ", "three"):
        await owner.edit_alone(word)
    await editor.wait_text("one two three")
    stranger = PeerClient(personas["stranger"], document.id)
    await stranger.connect()
    assert await stranger.wait_closed() == CloseCode.NOT_FOUND

    during = await scrape()
    assert during["collab_open_sockets"] == 2
    assert during["collab_rooms"] == 1
    committed = during["collab_updates_committed_total"] - before.get(
        "collab_updates_committed_total", 0
    )
    assert committed == 3
    batches = during["collab_commit_batch_size_count"] - before.get(
        "collab_commit_batch_size_count", 0
    )
    assert 1 <= batches <= 3
    assert (
        during["collab_commit_seconds_count"] - before.get("collab_commit_seconds_count", 0)
        == batches
    )
    refused = "collab_socket_closes_total{code=4404}"
    assert during[refused] - before.get(refused, 0) == 1

    await owner.close()
    await editor.close()

    async def empty() -> bool:
        return (await scrape())["collab_open_sockets"] == 0

    await eventually(empty)
