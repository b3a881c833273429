"""The scenarios a, b, c and d (see bench/README.md): each takes the `Bench` and returns its
figures, its bar and whether it passed."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from bench.common import log
from bench.harness import Bench, check_stored, stored_text
from bench.procstat import proc_cpu_seconds


def edit_scenario(
    bench: Bench, name: str, documents: int, clients: int, full: int, rate: float, seconds: float
) -> dict[str, Any]:
    seconds = bench.args.seconds or seconds
    users = bench.make_users(name, clients)
    docs = bench.make_documents(name, [u for u, _ in users], documents)
    cookies = [c for _, c in users]
    server = bench.server(name)
    try:
        config = {
            "mode": "edit",
            "url": server.ws_url,
            "origin": server.url,
            "documents": [{"documentId": str(d.pk), "cookies": cookies} for d in docs],
            "clients": clients,
            "full": full,
            "rate": rate,
            "seconds": seconds,
            "dump": str(bench.tmp / f"texts-{name}.json"),
        }
        result = bench.run_node(config, server, name)
        result["stored"] = check_stored(result)
        result["server_peak_rss_mb"] = (server.peak_rss_kb() or 0) / 1024
        result["server_rss_after_start_mb"] = (server.rss_after_start_kb or 0) / 1024
        result["server_log"] = server.log_summary()
    finally:
        server.stop()
    result["server_profile"] = server.profile_top()
    latency = result["latencyMs"]
    stored = result["stored"]
    result["bar"] = {
        "all_delivered": result["delivered"]["fraction"] == 1,
        "all_stored": stored["stored_markers"] == result["sent"],
        "clients_converged": bool(result["converged"]),
        "server_converged": stored["equal"] == stored["documents"],
        "p99_under_50ms": latency["p99"] is not None and latency["p99"] < 50,
    }
    result["pass"] = all(result["bar"].values())
    result["server_cpu_per"] = ["edit (in, stored, relayed)", result["sent"]]
    result["title"] = (
        f"{documents} document(s) x {clients} clients ({full} full)"
        f" x {rate:g} edits/s x {seconds:g} s"
    )
    return result


def scenario_a(bench: Bench) -> dict[str, Any]:
    return edit_scenario(bench, "a", documents=1, clients=20, full=2, rate=5, seconds=20)


def scenario_b(bench: Bench) -> dict[str, Any]:
    return edit_scenario(bench, "b", documents=50, clients=2, full=2, rate=5, seconds=20)


def build_history(count: int, seed: int = 7) -> tuple[list[bytes], str]:
    """`count` small edits of Y.Text 'text', typed like a person: each its own update."""
    from pycrdt import Doc, Text

    rng = random.Random(seed)
    doc: Doc[Any] = Doc()
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    caret = 0
    length = 0
    words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while"]
    for _ in range(count):
        roll = rng.random()
        if roll < 0.05 or caret > length:
            caret = rng.randint(0, length)  # click somewhere else
        if roll < 0.12 and caret > 0:
            n = min(caret, rng.randint(1, 3))  # backspace
            del text[caret - n : caret]
            caret -= n
            length -= n
        else:
            chunk = rng.choice(words) + " " if rng.random() < 0.3 else rng.choice("etaoinshrdlu ")
            text.insert(caret, chunk)
            caret += len(chunk)
            length += len(chunk)
    doc.unobserve(sub)
    return updates, str(text)


def scenario_c(bench: Bench) -> dict[str, Any]:
    from documents.models import Document, DocumentUpdate, Snapshot
    from documents.storage import store

    history = bench.args.history
    opens = bench.args.opens
    users = bench.make_users("c", 1)
    doc, warmup_doc = bench.make_documents("c", [users[0][0]], 2)
    user_id = users[0][0].pk
    t = time.perf_counter()
    updates, expected = build_history(history)
    build_s = time.perf_counter() - t
    log(f"built {len(updates)} updates with pycrdt in {build_s:.1f} s; inserting")
    t = time.perf_counter()
    for i in range(0, len(updates), 1000):
        store.append([store.Pending(doc.pk, u, user_id) for u in updates[i : i + 1000]])
    insert_s = time.perf_counter() - t
    doc.refresh_from_db()
    log_bytes = doc.log_bytes

    def breakdown() -> dict[str, Any]:
        """What a cold room does with the document, timed here in-process (no server)."""
        from pycrdt import Doc

        t0 = time.perf_counter()
        loaded = store.load(doc.pk)  # the database read and the merge
        t1 = time.perf_counter()
        ydoc: Doc[Any] = Doc()
        ydoc.apply_update(loaded.update)  # Room.open
        t2 = time.perf_counter()
        diff = ydoc.get_update()  # Room.sync_step1 for a new client
        t3 = time.perf_counter()
        return {
            "load_ms": (t1 - t0) * 1000,
            "apply_ms": (t2 - t1) * 1000,
            "step2_ms": (t3 - t2) * 1000,
            "merged_bytes": len(loaded.update),
            "step2_bytes": len(diff),
        }

    uncompacted_breakdown = breakdown()
    # Rooms close as soon as their last client leaves, so every open loads from the database;
    # compaction thresholds out of reach, so nothing compacts behind our back.
    server = bench.server(
        "c",
        ROOM_IDLE_SECONDS=0,
        COMPACT_AFTER_UPDATES=10**12,
        COMPACT_AFTER_BYTES=10**15,
    )
    cookie = users[0][1]

    def open_config() -> dict[str, Any]:
        return {
            "mode": "open",
            "url": server.ws_url,
            "origin": server.url,
            "documents": [{"documentId": str(doc.pk), "cookies": [cookie]}],
            "opens": opens,
            "gapMs": 500,
            "expectLength": len(expected),
            "warmup": {"documentId": str(warmup_doc.pk), "cookies": [cookie]},
        }

    try:
        cpu0 = proc_cpu_seconds(server.pid) or 0.0
        uncompacted = bench.run_node(open_config(), server, "c-uncompacted")
        cpu1 = proc_cpu_seconds(server.pid) or 0.0
        doc.refresh_from_db()
        logged = DocumentUpdate.objects.filter(document=doc).count()
        still_uncompacted = doc.snapshot_seq == 0 and logged == len(updates)
        t0 = time.perf_counter()
        store.compact(doc.pk)
        compact_ms = (time.perf_counter() - t0) * 1000
        snapshot_bytes = len(bytes(Snapshot.objects.filter(document=doc).latest("seq").data))
        compacted_breakdown = breakdown()
        cpu2 = proc_cpu_seconds(server.pid) or 0.0
        compacted = bench.run_node(open_config(), server, "c-compacted")
        cpu3 = proc_cpu_seconds(server.pid) or 0.0
        text_after, _ = stored_text(doc.pk)
        peak_rss = (server.peak_rss_kb() or 0) / 1024
        server_log = server.log_summary()
    finally:
        server.stop()
    remaining = Document.objects.filter(pk=doc.pk).values_list("last_seq", "snapshot_seq").first()

    def phase(result: dict[str, Any], cpu_s: float) -> dict[str, Any]:
        ok = [o for o in result["opens"] if o.get("ok")]
        return {
            "open_to_sync_ms": [round(o["openToSyncMs"], 1) for o in ok],
            "median_open_to_sync_ms": result["medianOpenToSyncMs"],
            "median_open_to_step2_ms": result["medianOpenToStep2Ms"],
            "median_client_apply_ms": result["medianClientApplyMs"],
            "step2_bytes": ok[0]["step2Bytes"] if ok else None,
            "failures": result["failures"],
            "errors": [o.get("error") for o in result["opens"] if o.get("error")]
            + [f"close codes {o['closes']}" for o in result["opens"] if o.get("closes")],
            "server_cpu_s_per_open": cpu_s / max(len(ok), 1),
        }

    out: dict[str, Any] = {
        "title": f"cold open of a {history}-update document, median of {opens} opens each",
        "history_updates": len(updates),
        "text_chars": len(expected),
        "log_bytes": log_bytes,
        "build_s": build_s,
        "insert_s": insert_s,
        "in_process_uncompacted": uncompacted_breakdown,
        "uncompacted_during_opens": still_uncompacted,
        "compact_ms": compact_ms,
        "snapshot_bytes": snapshot_bytes,
        "in_process_compacted": compacted_breakdown,
        "uncompacted": phase(uncompacted, cpu1 - cpu0),
        "compacted": phase(compacted, cpu3 - cpu2),
        "stored_text_ok": text_after == expected,
        "last_seq_snapshot_seq": list(remaining) if remaining else None,
        "server_peak_rss_mb": peak_rss,
        "server_log": server_log,
        "server_profile": server.profile_top(),
    }
    out["bar"] = {
        "uncompacted_under_200ms": (out["uncompacted"]["median_open_to_sync_ms"] or 1e9) < 200,
        "compacted_under_200ms": (out["compacted"]["median_open_to_sync_ms"] or 1e9) < 200,
        "content_ok": out["stored_text_ok"]
        and not out["uncompacted"]["failures"]
        and not out["compacted"]["failures"]
        and not out["uncompacted"]["errors"]
        and not out["compacted"]["errors"],
    }
    out["pass"] = all(out["bar"].values())
    return out


def scenario_d(bench: Bench) -> dict[str, Any]:
    clients, rate = 100, 2
    seconds = bench.args.seconds or 10
    users = bench.make_users("d", clients)
    (doc,) = bench.make_documents("d", [u for u, _ in users], 1)
    server = bench.server("d")
    try:
        config = {
            "mode": "awareness",
            "url": server.ws_url,
            "origin": server.url,
            "documents": [{"documentId": str(doc.pk), "cookies": [c for _, c in users]}],
            "clients": clients,
            "full": 1,
            "awarenessRate": rate,
            "seconds": seconds,
            "thinAwareness": bench.args.thin_awareness,
        }
        result = bench.run_node(config, server, "d")
        result["server_peak_rss_mb"] = (server.peak_rss_kb() or 0) / 1024
        result["server_log"] = server.log_summary()
    finally:
        server.stop()
    result["server_profile"] = server.profile_top()
    result["title"] = (
        f"awareness: 1 document x {clients} clients x {rate} caret moves/s x {seconds:g} s"
    )
    errors = result["errors"]
    seen = result["finalCaretSeen"]
    frames_in = result["framesSentPerSecond"] * result["loadSeconds"]
    result["server_cpu_per"] = ["awareness frame in", frames_in]
    result["bar"] = {
        "no_errors": not errors["closeCodes"]
        and not errors["disconnects"]
        and not errors["neverSynced"]
        and not errors["connectionErrors"],
        "final_carets_seen": seen["seen"] == seen["expected"],
    }
    result["pass"] = all(result["bar"].values())
    return result


SCENARIOS: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "a": scenario_a,
    "b": scenario_b,
    "c": scenario_c,
    "d": scenario_d,
}
