"""`/healthz` on the real database and channel layer, and when either fails."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from django.db import connections
from django.test import AsyncClient

from devtools.paths import ROOT
from devtools.ports import free_port
from editor_project import health

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_worker_connections() -> AsyncIterator[None]:
    """The check queries from the ORM's worker thread, which keeps its
    connection; close it so the test database can be dropped."""
    yield
    await database_sync_to_async(connections.close_all)()


async def test_healthy_when_the_database_and_the_channel_layer_answer(integration):
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "channel_layer": "ok",
        "quarantined_updates": 0,
    }
    assert "no-cache" in response["Cache-Control"]


async def test_a_dead_channel_layer_makes_it_unhealthy(monkeypatch):
    class Unreachable:
        async def new_channel(self, prefix: str = "") -> str:
            raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(health, "get_channel_layer", Unreachable)
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "database": "ok",
        "channel_layer": "failing: ConnectionRefusedError",
        "quarantined_updates": 0,
    }


async def test_a_hanging_database_makes_it_unhealthy_in_bounded_time(monkeypatch):
    import time

    def hang() -> None:
        time.sleep(0.5)

    monkeypatch.setattr(health, "_query_database", hang)
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.1)
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "failing: TimeoutError"
    assert response.json()["quarantined_updates"] is None  # not asked of a failing database


async def test_only_get_is_answered():
    response = await AsyncClient().post("/healthz")
    assert response.status_code == 405


def test_container_health_check_script_against_a_real_server(daphne_server):
    def check(port: int) -> subprocess.CompletedProcess[str]:
        # In the container the script shares the server's environment.
        env = {**daphne_server.env, "PORT": str(port)}
        return subprocess.run(
            [sys.executable, "scripts/healthcheck.py"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert check(daphne_server.port).returncode == 0
    down = check(free_port())
    assert down.returncode == 1 and "unhealthy" in down.stderr


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("docs.example.org,localhost", "docs.example.org"),
        (".example.org", "example.org"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_health_check_sends_a_host_the_app_accepts(monkeypatch, allowed, host):
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "scripts/healthcheck.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setenv("ALLOWED_HOSTS", allowed)
    assert script.host_header() == host


async def test_quarantined_updates_are_counted_but_are_not_an_outage(integration, document):
    from documents.models import DocumentUpdate

    def quarantine_one() -> None:
        DocumentUpdate.objects.create(document=document, seq=1, data=b"\x00\x00", quarantined=True)

    await database_sync_to_async(quarantine_one)()
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["quarantined_updates"] == 1
