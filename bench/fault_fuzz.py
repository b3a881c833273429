"""Hostile frames for the fault suite: valid y-websocket frames built from a pycrdt document,
then mutated (byte flips, truncation, splices, duplicated ranges, huge varints), sent over raw
WebSockets as a logged-in editor, up to ~50 frames a socket, reconnecting after every close."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from documents.realtime import protocol

HUGE_VARINTS = [
    b"\xff" * 9 + b"\x7f",  # past 2**63
    b"\xff\xff\xff\xff\x0f",  # 2**32 - 1
    b"\xff\xff\xff\xff\xff\xff\xff\x0f",  # past 2**53, lib0's limit
    b"\x80" * 12,  # never ends
]


def seed_updates(rng: random.Random, count: int = 300) -> list[bytes]:
    """Updates a real client could send: text, map, array and XML edits, one per change.

    Only the fuzzer's own items are ever referenced, so even an accepted mutant cannot
    delete or split what the normal clients typed (their client ids are not in these bytes).
    """
    from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

    doc: Doc[Any] = Doc()
    text = doc.get("text", type=Text)
    meta = doc.get("meta", type=Map)
    items = doc.get("list", type=Array)
    xml = doc.get("default", type=XmlFragment)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    words = ["fuzz", "zoë", "✓", "🙂", "\x00", "a" * 40, "\u202e", "<b>"]
    for i in range(count):
        roll = rng.random()
        if roll < 0.4:
            text.insert(rng.randint(0, len(text)), rng.choice(words))
        elif roll < 0.5 and len(text) > 2:
            start = rng.randint(0, len(text) - 2)
            del text[start : start + rng.randint(1, 2)]
        elif roll < 0.65:
            meta[f"k{rng.randint(0, 9)}"] = rng.choice([i, i / 3, "v" * rng.randint(0, 30), True])
        elif roll < 0.8:
            items.append(rng.choice([i, "x", {"nested": [1, 2]}]))
        else:
            xml.children.append(XmlElement("paragraph", {}, [XmlText(rng.choice(words))]))
    doc.unobserve(sub)
    return updates


def awareness_payload(rng: random.Random) -> bytes:
    state = {"user": {"name": "mallory", "color": "#ff0000"}, "cursor": {"anchor": 1, "head": 2}}
    return protocol.write_var_uint(1) + (
        protocol.write_var_uint(rng.randint(1, 2**32))
        + protocol.write_var_uint(rng.randint(0, 1000))
        + protocol.write_var_string(json.dumps(state))
    )


def mutate(data: bytes, rng: random.Random, donors: list[bytes]) -> bytes:
    out = bytearray(data)
    kind = rng.choice(["flip", "truncate", "splice", "duplicate", "varint"])
    if not out:
        return bytes(rng.choice(HUGE_VARINTS))
    if kind == "flip":
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    elif kind == "truncate":
        del out[rng.randrange(len(out)) :]
    elif kind == "splice":
        donor = rng.choice(donors)
        a = rng.randrange(len(donor) + 1)
        piece = donor[a : a + rng.randint(1, 16)]
        b = rng.randrange(len(out) + 1)
        out[b : b + rng.randint(0, 8)] = piece
    elif kind == "duplicate":
        a = rng.randrange(len(out))
        piece = out[a : a + rng.randint(1, 32)]
        out[a:a] = piece * rng.randint(1, 3)
    else:
        at = rng.randrange(len(out) + 1)
        out[at : at + rng.randint(0, 2)] = rng.choice(HUGE_VARINTS)
    return bytes(out)


def fuzzed_frames(count: int, seed: int = 1) -> list[bytes]:
    """`count` frames: mostly mutated updates (re-framed, so the update itself is what is
    bad), some mutated whole frames (so the framing is), a few mutated awareness frames."""
    rng = random.Random(seed)
    updates = seed_updates(rng)
    frames: list[bytes] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.1:
            payload = awareness_payload(rng)
            if rng.random() < 0.5:
                frames.append(protocol.encode_awareness(mutate(payload, rng, updates)))
            else:
                frames.append(mutate(protocol.encode_awareness(payload), rng, updates))
            continue
        update = rng.choice(updates)
        encode = rng.choice([protocol.encode_sync_update, protocol.encode_sync_step2])
        if roll < 0.65:
            bad = mutate(update, rng, updates)
            if rng.random() < 0.3:
                bad = mutate(bad, rng, updates)
            frames.append(encode(bad))
        else:
            frames.append(mutate(encode(update), rng, updates))
    return frames


@dataclass
class FuzzResult:
    frames_sent: int = 0
    sockets: int = 0
    refused_handshakes: int = 0
    close_codes: Counter[Any] = field(default_factory=Counter)
    seconds: float = 0.0
    connect_s: float = 0.0  # summed over the workers: opening sockets
    close_s: float = 0.0  # and waiting for them to close


async def _drain(ws: Any) -> None:
    # The server's step 1, awareness and relayed updates: read so its buffers never fill.
    import websockets

    try:
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass


async def _worker(
    frames: deque[bytes],
    urls: list[tuple[str, str]],
    cookie: str,
    per_socket: int,
    stop: Callable[[], bool],
    result: FuzzResult,
) -> None:
    import websockets

    while frames and not stop():
        url, origin = urls[result.sockets % len(urls)]  # each socket on the next server
        result.sockets += 1
        t = time.monotonic()
        try:
            ws = await websockets.connect(
                url,
                additional_headers={"Cookie": cookie},
                origin=websockets.typing.Origin(origin),
                max_size=None,
                open_timeout=10,
            )
        except (OSError, websockets.InvalidHandshake, TimeoutError):
            result.refused_handshakes += 1
            await asyncio.sleep(0.2)  # a server that refuses us is busy or down: back off
            continue
        result.connect_s += time.monotonic() - t
        drain = asyncio.ensure_future(_drain(ws))
        try:
            for _ in range(per_socket):
                if not frames or drain.done():
                    break
                frame = frames.popleft()
                try:
                    await ws.send(frame)
                except websockets.ConnectionClosed:
                    frames.appendleft(frame)  # never sent: the next socket sends it
                    raise
                result.frames_sent += 1
                # Room for the server's close to arrive before the next frame goes out.
                await asyncio.sleep(0.003)
            await ws.close()
        except websockets.ConnectionClosed:
            pass
        t = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drain, 10)
        result.close_s += time.monotonic() - t
        result.close_codes[ws.close_code] += 1


async def _fuzz(
    frames: list[bytes],
    urls: list[tuple[str, str]],
    cookie: str,
    per_socket: int,
    workers: int,
    stop: Callable[[], bool],
) -> FuzzResult:
    result = FuzzResult()
    t0 = time.monotonic()
    queue = deque(frames)
    await asyncio.gather(
        *(_worker(queue, urls, cookie, per_socket, stop, result) for _ in range(workers))
    )
    result.seconds = time.monotonic() - t0
    return result


def run_fuzz(
    count: int,
    urls: list[tuple[str, str]],
    cookie: str,
    per_socket: int = 50,
    workers: int = 2,
    stop: Callable[[], bool] = lambda: False,
) -> FuzzResult:
    """Send `count` fuzzed frames from `workers` sockets at a time; `urls` are (WebSocket URL
    of the document, Origin) pairs, used in turn, one per socket."""
    return asyncio.run(_fuzz(fuzzed_frames(count), urls, cookie, per_socket, workers, stop))
