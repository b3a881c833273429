"""Log lines operators can use: request and socket ids, and one JSON object per line.

LOG_FORMAT=json (settings.py) writes every record as one JSON line that log
collectors parse without rules: time, level, logger, message, the process,
and the request id or socket id the line belongs to. Ids are attached by
ContextFilter in either format, so a request's or a socket's lines can be
found together.

A request id comes from the client's (or the load balancer's) X-Request-ID
when it is a plain token, otherwise it is made here; it is sent back in the
response. A socket id is made when a socket's consumer starts and belongs to
that consumer's task only: rooms, the writer and presence run in tasks of
their own, shared by many sockets, and their lines carry no socket id rather
than the id of whichever socket happened to start them.

Messages say what happened to which document, socket or user (by id); the
app never logs document bodies, titles or frame bytes.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import secrets
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

REQUEST_ID_HEADER = "X-Request-ID"
# What a client may choose as its id: a short token, nothing a log line could be forged with.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "collab_request_id", default=None
)
# Keyed by the consumer's task, not a context variable: a context is copied
# into every task a consumer starts (its room, the writer's flush), which
# would then log under that first socket's id for good.
_socket_ids: weakref.WeakKeyDictionary[asyncio.Task[Any], str] = weakref.WeakKeyDictionary()


def new_id() -> str:
    """A short random id (12 hex digits): unique enough to grep for."""
    return secrets.token_hex(6)


def request_id() -> str | None:
    """The id of the request being handled here, if any."""
    return _request_id.get()


def bind_socket() -> str:
    """Give the running task (a socket's consumer) a socket id for its log lines."""
    socket_id = new_id()
    task = asyncio.current_task()
    if task is not None:
        _socket_ids[task] = socket_id
    return socket_id


def socket_id() -> str | None:
    """The socket id of the running task, if it is a socket's consumer."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # a thread without an event loop
        return None
    return _socket_ids.get(task) if task is not None else None


class ContextFilter(logging.Filter):
    """Attach the current request id and socket id to every record (None when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.socket_id = socket_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key in ("request_id", "socket_id"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        # Newlines inside strings are escaped by json: a record stays one line.
        return json.dumps(line, ensure_ascii=False, default=str)


def _start(request: HttpRequest) -> tuple[str, contextvars.Token[str | None]]:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    rid = offered if _CLIENT_ID.fullmatch(offered) else new_id()
    return rid, _request_id.set(rid)


@sync_and_async_middleware
def request_id_middleware(
    get_response: Callable[[HttpRequest], Any],
) -> Callable[[HttpRequest], Any]:
    """Give each request an id for its log lines, and send it back as X-Request-ID."""
    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponseBase:
            rid, token = _start(request)
            try:
                response: HttpResponseBase = await get_response(request)
            finally:
                _request_id.reset(token)
            response[REQUEST_ID_HEADER] = rid
            return response

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponseBase:
        rid, token = _start(request)
        try:
            response: HttpResponseBase = get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = rid
        return response

    return middleware


__all__ = [
    "REQUEST_ID_HEADER",
    "ContextFilter",
    "JsonFormatter",
    "bind_socket",
    "new_id",
    "request_id",
    "request_id_middleware",
    "socket_id",
]
