"""Real Yjs clients against a real server: the stock y-websocket provider in Node,
and pycrdt over a plain WebSocket."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import threading
import time
from typing import Any

import websockets
from pycrdt import Doc, Text
from websockets.typing import Origin

from devtools.paths import YCLIENTS
from devtools.waiting import wait_until
from documents.realtime import protocol


class NodeClient:
    """`yclients/client.mjs`: a stock WebsocketProvider editing a Y.Text named `text`."""

    def __init__(self, ws_url: str, document_id: Any, cookie: str, origin: str) -> None:
        self.process = subprocess.Popen(
            ["node", "client.mjs", ws_url, str(document_id), cookie, origin],
            cwd=YCLIENTS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.text = ""
        self.synced = False
        self.status = ""
        self.peers: list[dict[str, Any]] = []
        self.closes: list[int | None] = []
        self.client_id: int | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = json.loads(line)
            with self._lock:
                kind = event["event"]
                if kind in ("text", "synced"):
                    self.text = event["text"]
                if kind == "synced":
                    self.synced = True
                elif kind == "status":
                    self.status = event["status"]
                    if event["status"] != "connected":
                        self.synced = False
                elif kind in ("awareness", "peers"):
                    self.peers = event["peers"]
                elif kind == "close":
                    self.closes.append(event["code"])
                elif kind == "ready":
                    self.client_id = event["clientId"]
            self.events.put(event)

    def command(self, **cmd: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(cmd) + "\n")
        self.process.stdin.flush()

    def insert(self, text: str, index: int | None = None) -> None:
        self.command(op="insert", text=text, index=index)

    def set_awareness(self, state: dict[str, Any] | None) -> None:
        self.command(op="awareness", state=state)

    def wait_synced(self, timeout: float = 10.0) -> None:
        wait_until(lambda: self.synced, timeout)

    def wait_text(self, predicate: Any, timeout: float = 10.0) -> str:
        return str(wait_until(lambda: predicate(self.text) and self.text, timeout))

    def peer_names(self) -> set[str]:
        with self._lock:
            return {
                p["state"]["user"]["name"]
                for p in self.peers
                if p["state"] and isinstance(p["state"].get("user"), dict)
            }

    def kill(self) -> None:
        """SIGKILL: the socket dies without a close frame or an awareness goodbye."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.command(op="exit")
                self.process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()


class PyClient:
    """pycrdt as a client: a Doc with a Text named `text`, synced over `websockets`."""

    def __init__(self, ws_url: str, document_id: Any, cookie: str, origin: str) -> None:
        self.url = f"{ws_url}/ws/documents/{document_id}"
        self.headers = {"Cookie": cookie}
        self.origin = origin
        self.doc = Doc()
        self.text = self.doc.get("text", type=Text)
        self.synced = asyncio.Event()
        self._ws: Any = None
        self._task: asyncio.Task[None] | None = None
        self._remote = False
        self.doc.observe(self._on_change)
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()

    def _on_change(self, event: Any) -> None:
        if not self._remote:
            self._outbox.put_nowait(protocol.encode_sync_update(event.update))

    async def connect(self) -> PyClient:
        self._ws = await websockets.connect(
            self.url,
            additional_headers=self.headers,
            origin=Origin(self.origin),
            max_size=None,
        )
        await self._ws.send(protocol.encode_sync_step1(self.doc.get_state()))
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.synced.wait(), 10)
        return self

    async def _run(self) -> None:
        sender = asyncio.create_task(self._send_loop())
        try:
            async for frame in self._ws:
                message = protocol.decode(frame)
                if isinstance(message, protocol.SyncStep1):
                    diff = self.doc.get_update(message.state_vector)
                    await self._ws.send(protocol.encode_sync_step2(diff))
                elif isinstance(message, protocol.SyncStep2 | protocol.SyncUpdate):
                    self._remote = True
                    try:
                        self.doc.apply_update(message.update)
                    finally:
                        self._remote = False
                    if isinstance(message, protocol.SyncStep2):
                        self.synced.set()
        finally:
            sender.cancel()

    async def _send_loop(self) -> None:
        while True:
            frame = await self._outbox.get()
            await self._ws.send(frame)

    def insert(self, text: str) -> None:
        self.text += text

    async def wait_text(self, predicate: Any, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while not predicate(str(self.text)):
            if time.monotonic() > deadline:
                raise AssertionError(f"text never matched; have {str(self.text)!r}")
            await asyncio.sleep(0.02)
        return str(self.text)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
