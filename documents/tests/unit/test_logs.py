"""Log lines operators can use: one JSON object per line, request and socket ids."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from devtools.paths import ROOT
from editor_project import logs


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    made = logging.LogRecord(
        "documents.test", logging.WARNING, __file__, 1, message, args, exc_info
    )
    logs.ContextFilter().filter(made)
    return made


def test_a_record_is_one_json_line_with_its_fields():
    try:
        raise ValueError("bad\nthing")
    except ValueError as exc:
        line = logs.JsonFormatter().format(record("saved %d updates\nfor %s", 3, "x", exc=exc))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "WARNING"
    assert parsed["logger"] == "documents.test"
    assert parsed["message"] == "saved 3 updates\nfor x"
    assert parsed["pid"] == os.getpid()
    assert parsed["time"].endswith("+00:00")
    assert "ValueError: bad\nthing" in parsed["exc_info"]
    # Outside a request or a socket there are no ids, rather than empty ones.
    assert "request_id" not in parsed and "socket_id" not in parsed


def run_with(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('documents.realtime').warning('one %s', 'line\\nsplit')"
    )
    clean = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "editor_project.settings", **env},
        capture_output=True,
        text=True,
    )


def test_log_format_json_switches_every_line_to_json():
    result = run_with(LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert json.loads(line)["message"] == "one line\nsplit"
    assert json.loads(line)["logger"] == "documents.realtime"


def test_the_plain_format_stays_the_default():
    result = run_with()
    assert result.returncode == 0, result.stderr
    assert "WARNING documents.realtime one line" in result.stderr


def test_an_unknown_log_format_stops_the_app():
    result = run_with(LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'" in result.stderr


# Request ids -----------------------------------------------------------------


def handled(headers: dict[str, str]) -> tuple[HttpResponse, logging.LogRecord]:
    seen: list[logging.LogRecord] = []

    def view(request: object) -> HttpResponse:
        seen.append(record("handling"))
        return HttpResponse("ok")

    middleware = logs.request_id_middleware(view)
    response = middleware(RequestFactory().get("/", headers=headers))
    return response, seen[0]


def test_each_request_gets_an_id_in_its_lines_and_its_response():
    first, line = handled({})
    second, _ = handled({})
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert line.request_id == first["X-Request-ID"]  # type: ignore[attr-defined]
    # Not past the request.
    assert logs.request_id() is None


def test_a_request_id_from_the_load_balancer_is_kept():
    response, line = handled({"X-Request-ID": "lb-4f1c2a9e7b"})
    assert response["X-Request-ID"] == "lb-4f1c2a9e7b"
    assert line.request_id == "lb-4f1c2a9e7b"  # type: ignore[attr-defined]


@pytest.mark.parametrize("offered", ["short", "x" * 65, "abc def ghi", 'a"}\n{"level":"ERROR'])
def test_a_request_id_that_could_forge_a_line_is_replaced(offered):
    response, line = handled({"X-Request-ID": offered})
    assert response["X-Request-ID"] != offered
    assert len(response["X-Request-ID"]) == 12
    assert line.request_id == response["X-Request-ID"]  # type: ignore[attr-defined]


async def test_the_async_path_sets_and_resets_the_id_too():
    seen: list[str | None] = []

    async def view(request: object) -> HttpResponse:
        seen.append(logs.request_id())
        return HttpResponse("ok")

    response = await logs.request_id_middleware(view)(RequestFactory().get("/"))
    assert seen == [response["X-Request-ID"]]
    assert logs.request_id() is None


@pytest.mark.django_db
def test_the_middleware_is_installed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "probe-1234abcd"})
    assert response["X-Request-ID"] == "probe-1234abcd"


# Socket ids ------------------------------------------------------------------


async def test_a_socket_id_belongs_to_its_consumers_task_only():
    lines: dict[str, logging.LogRecord] = {}

    async def shared_work() -> None:
        # A room or the writer: started by a socket, shared by many afterwards.
        lines["room"] = record("room line")

    async def consumer() -> str:
        socket_id = logs.bind_socket()
        lines["socket"] = record("socket line")
        await asyncio.create_task(shared_work())
        return socket_id

    first, second = await asyncio.gather(consumer(), consumer())
    assert first != second
    assert lines["socket"].socket_id in (first, second)  # type: ignore[attr-defined]
    assert lines["room"].socket_id is None  # type: ignore[attr-defined]
    # A thread with no event loop has none either.
    assert await asyncio.to_thread(logs.socket_id) is None
