"""Figures of one fault scenario from the load generator's raw record (yclients/fault-load.mjs
`dump`) and the times the runner broke and restored the service. Times are epoch seconds."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

MARKER = re.compile("\x01(\\d+)\\.(\\d+)\x02")
BIN_S = 0.5  # latency is judged per half second of send time
SUSTAINED_S = 2.0  # and is back to normal once it stays so this long


@dataclass(frozen=True)
class Timeline:
    ready: float  # every client synced, typing starts
    fault: float  # the service broke (or the fuzzing began)
    back: float  # the service answered again (or the fuzzing ended)
    stopped: float  # typing stopped


def markers(text: str) -> set[tuple[int, int]]:
    return {(int(g), int(n)) for g, n in MARKER.findall(text)}


def typed(clients: list[dict[str, Any]]) -> set[tuple[int, int]]:
    return {(c["gid"], n) for c in clients for n in range(len(c["sentAt"]))}


def deliveries(clients: list[dict[str, Any]]) -> tuple[list[tuple[float, float | None]], int, int]:
    """(send time, seen time or None) per (observer, marker of another client of its document),
    plus how many were seen and expected."""
    by_doc = by_document(clients)
    sent_at = {c["gid"]: c["sentAt"] for c in clients}
    pairs: list[tuple[float, float | None]] = []
    for c in clients:
        seen = {(g, n): t / 1000 for g, n, t in c["seen"]}
        for peer in by_doc[c["doc"]]:
            if peer is c:
                continue
            for n, t in enumerate(sent_at[peer["gid"]]):
                pairs.append((t / 1000, seen.get((peer["gid"], n))))
    seen_count = sum(1 for _, s in pairs if s is not None)
    return pairs, seen_count, len(pairs)


def convergence_after_return(pairs: list[tuple[float, float | None]], back: float) -> float:
    """How long after the service's return every edit typed before it had reached every other
    client of its document (0 if nothing was waiting; inf if some never arrived)."""
    worst = 0.0
    for sent, seen in pairs:
        if sent >= back:
            continue
        if seen is None:
            return math.inf
        worst = max(worst, seen - back)
    return worst


def p95(values: list[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def baseline_p95_ms(pairs: list[tuple[float, float | None]], tl: Timeline) -> float:
    """p95 latency of the edits typed in the calm before the fault (the first second aside)."""
    return 1000 * p95([s - t for t, s in pairs if tl.ready + 1 <= t < tl.fault and s is not None])


def normal_latency_threshold_ms(baseline_ms: float) -> float:
    # Twice the calm p95, and never under it plus 20 ms: on a shared 2-core box a calm p95
    # of 10 ms doubles on a whim without anything being wrong.
    return max(2 * baseline_ms, baseline_ms + 20)


def back_to_normal(
    pairs: list[tuple[float, float | None]], tl: Timeline, threshold_ms: float
) -> float:
    """Seconds after the service's return until the latency was normal again: the start of the
    first 2 s (by send time, from the half second of the return on) in which every half second
    of edits had its p95 under the threshold, an edit never delivered counting as infinitely
    late. 0 if it was normal right away, inf if it had not come back when typing stopped.

    A sustained window rather than "normal from then on": on a shared machine some half second
    long after the return is always slow for reasons of its own."""
    bins: dict[int, list[float]] = {}
    for t, s in pairs:
        if tl.fault <= t < tl.stopped:
            bins.setdefault(int((t - tl.fault) // BIN_S), []).append(
                math.inf if s is None else 1000 * (s - t)
            )
    window = round(SUSTAINED_S / BIN_S)
    normal = {b: p95(lat) <= threshold_ms for b, lat in bins.items()}
    first = int((tl.back - tl.fault) // BIN_S)
    for b in sorted(bins):
        if b >= first and all(normal.get(b + k, False) for k in range(window)):
            return max(0.0, tl.fault + b * BIN_S - tl.back)
    return math.inf


def presence_recovery(clients: list[dict[str, Any]], since: float) -> float:
    """Seconds after `since` until every client had seen a caret moved after `since` by each
    client of its document on the other server process (inf if some pair never did)."""
    worst = 0.0
    for c in clients:
        for peer in clients:
            if peer["doc"] != c["doc"] or peer["server"] == c["server"]:
                continue
            arrivals = [
                t / 1000
                for t, gid, moved in c["carets"]
                if gid == peer["gid"] and moved / 1000 >= since
            ]
            if not arrivals:
                return math.inf
            worst = max(worst, min(arrivals) - since)
    return worst


def close_codes(clients: list[dict[str, Any]]) -> Counter[Any]:
    return Counter(code for c in clients for _, code in c["closes"])


def by_document(clients: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for c in clients:
        out.setdefault(c["doc"], []).append(c)
    return out


def caret_latencies(
    clients: list[dict[str, Any]], since: float, until: float, *, cross: bool = True
) -> list[float]:
    """Seconds from each caret move (made in [since, until)) to its first arrival at each other
    client of its document on the other server process (`cross`) or on the same one."""
    server = {c["gid"]: c["server"] for c in clients}
    out: list[float] = []
    for c in clients:
        first: dict[tuple[int, float], float] = {}
        for t, gid, moved in c["carets"]:
            if (server.get(gid) != c["server"]) != cross or not since <= moved / 1000 < until:
                continue
            key = (gid, moved)
            first[key] = min(first.get(key, math.inf), t / 1000)
        out.extend(seen - moved / 1000 for (_, moved), seen in first.items())
    return out


def quantile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def removed_while_connected(clients: list[dict[str, Any]]) -> list[tuple[float, int, int]]:
    """(time, observer gid, owner gid) of every caret a client saw removed while its owner
    was connected and synced (a false expiry: the owner's process was alive)."""
    return [
        (t / 1000, c["gid"], gid)
        for c in clients
        for t, gid, connected in c.get("removals", [])
        if connected
    ]
