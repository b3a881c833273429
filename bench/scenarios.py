"""The scenarios (see bench/README.md). Each runs against one server kind (the project,
Hocuspocus or the y-websocket server) and returns that kind's figures; bench/report.py sets
them side by side and judges the bars."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import server_metrics
from bench.common import log
from bench.harness import Bench, Deployment, check_stored, stored_text
from bench.services import Server


@dataclass(frozen=True)
class EditLoad:
    """Documents x clients typing markers at `rate` edits/s, each client its own user."""

    documents: int
    clients: int  # per document
    full: int  # per document; the rest are thin
    rate: float
    awareness: float = 0  # caret moves per second per client, apart from edits
    caret_per_edit: bool = False  # each edit also moves the caret
    generators: int = 1  # load generator processes (whole documents each)
    seconds: float = 20


EDIT_LOADS: dict[str, EditLoad] = {
    "a": EditLoad(documents=1, clients=20, full=20, rate=5, awareness=1),
    "a-caret": EditLoad(documents=1, clients=20, full=20, rate=5, caret_per_edit=True),
    "b": EditLoad(documents=1, clients=100, full=10, rate=2),
    "c": EditLoad(documents=50, clients=2, full=2, rate=5, awareness=1, generators=2),
    "scale": EditLoad(documents=100, clients=10, full=1, rate=1, generators=4),
}


@dataclass
class Target:
    """Where a scenario's documents live: ids and each client's cookie, per document."""

    documents: list[dict[str, Any]]


def prepare(bench: Bench, kind: str, name: str, documents: int, clients: int) -> Target:
    """A fresh database with one user per client (the project), or fresh names (references)."""
    if kind != "project":
        tag = uuid.uuid4().hex[:8]
        return Target(
            [{"documentId": f"{name}-{i}-{tag}", "cookies": [""]} for i in range(documents)]
        )
    bench.fresh_database(name)
    users = bench.make_users(name, documents * clients)
    groups = [users[i * clients : (i + 1) * clients] for i in range(documents)]
    docs = bench.make_shared_documents(name, [[u for u, _ in g] for g in groups])
    return Target(
        [
            {"documentId": str(d.pk), "cookies": [c for _, c in g]}
            for d, g in zip(docs, groups, strict=True)
        ]
    )


def generator_config(
    mode: str, deployment: Deployment, target: Target, **options: Any
) -> dict[str, Any]:
    """A load generator's config: the mode, the servers and their stock provider, the documents."""
    return {
        "mode": mode,
        "server": deployment.kind,
        "urls": deployment.urls,
        "documents": target.documents,
        **options,
    }


def finish(result: dict[str, Any], deployment: Deployment) -> dict[str, Any]:
    """What every scenario reports about its servers."""
    result["server_peak_rss_mb"] = deployment.peak_rss_kb / 1024
    result["server_processes"] = len(deployment.servers)
    result["server_log"] = deployment.log_summary()
    result.pop("samples", None)
    result.pop("crossingSamples", None)
    result.pop("awarenessSamples", None)
    return result


def read_server_metrics(deployment: Deployment) -> dict[str, Any] | None:
    try:
        return server_metrics.summary([s.url for s in deployment.servers if isinstance(s, Server)])
    except OSError as exc:  # a figure missing is no reason to lose the run's others
        log(f"could not read the servers' /metrics: {exc}")
        return None


def edit_run(
    bench: Bench, kind: str, name: str, load: EditLoad, processes: int = 1
) -> dict[str, Any]:
    seconds = bench.args.seconds or (min(load.seconds, 8) if bench.args.quick else load.seconds)
    target = prepare(bench, kind, name, load.documents, load.clients)
    deployment = bench.deploy(kind, name, processes)
    try:
        base = generator_config(
            "edit",
            deployment,
            target,
            clients=load.clients,
            full=load.full,
            rate=load.rate,
            awarenessRate=load.awareness,
            caretPerEdit=load.caret_per_edit,
            seconds=seconds,
            # Editors arrive as fast as the server lets them in, not all in one instant (herd
            # measures that): Daphne's listen backlog is 50 connections.
            connectPending=10,
        )
        shares = [target.documents[i :: load.generators] for i in range(load.generators)]
        configs = [{**base, "documents": share} for share in shares if share]
        result = bench.run_generators(configs, deployment, f"{name}-{kind}-{processes}")
        if kind == "project":
            result["stored"] = check_stored(result)
            result["server_metrics"] = read_server_metrics(deployment)
    finally:
        deployment.stop()
    result["title"] = (
        f"{load.documents} document(s) x {load.clients} clients ({load.full} full)"
        f" x {load.rate:g} edits/s x {seconds:g} s"
        + (f", carets {load.awareness:g}/s" if load.awareness else "")
        + (", a caret move per edit" if load.caret_per_edit else "")
    )
    result["edits_delivered"] = result["sent"] * (result["delivered"]["fraction"] or 0)
    return finish(result, deployment)


def edit_scenario(name: str) -> Callable[[Bench, str], dict[str, Any]]:
    def run(bench: Bench, kind: str) -> dict[str, Any]:
        return edit_run(bench, kind, name, EDIT_LOADS[name])

    return run


def scenario_scale(bench: Bench, kind: str) -> dict[str, Any]:
    """1,000 editors on one process; for the project, then on two (half of each document's
    clients on each)."""
    result = edit_run(bench, kind, "scale", EDIT_LOADS["scale"])
    if kind == "project":
        result["two_processes"] = edit_run(bench, kind, "scale2", EDIT_LOADS["scale"], 2)
    return result


def scenario_herd(bench: Bench, kind: str) -> dict[str, Any]:
    clients, seed = 100, 2000
    target = prepare(bench, kind, "herd", 1, clients + 1)
    deployment = bench.deploy(kind, "herd")
    try:
        config = generator_config("herd", deployment, target, clients=clients, seedChars=seed)
        result = bench.run_generators([config], deployment, f"herd-{kind}")
    finally:
        deployment.stop()
    result["title"] = (
        f"{clients} clients open one document ({seed:,} characters, its typist there) at once"
    )
    return finish(result, deployment)


def scenario_ingest(bench: Bench, kind: str) -> dict[str, Any]:
    edits = 10_000 if bench.args.quick else 50_000
    target = prepare(bench, kind, "ingest", 1, 2)
    # The per-connection rate limit is what stops a real flood; raised here to see the store.
    deployment = bench.deploy(kind, "ingest", MAX_UPDATES_PER_SECOND=10**9)
    try:
        config = generator_config("ingest", deployment, target, edits=edits)
        result = bench.run_generators([config], deployment, f"ingest-{kind}")
        if kind == "project":
            text, last_seq = stored_text(target.documents[0]["documentId"])
            result["stored"] = {"text_length": len(text), "last_seq": last_seq}
    finally:
        deployment.stop()
    result["title"] = f"one client types {edits:,} single-character updates as fast as it can"
    return finish(result, deployment)


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


def scenario_cold_open(bench: Bench, kind: str) -> dict[str, Any]:
    """The project only: cold opens of a document with a long history, before and after
    compaction."""
    from documents.models import Document, DocumentUpdate, Snapshot
    from documents.storage import store

    history = bench.args.history
    opens = bench.args.opens
    bench.fresh_database("cold_open")
    users = bench.make_users("cold-open", 1)
    doc, warmup_doc = bench.make_documents("cold-open", [users[0][0]], 2)
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
    deployment = bench.deploy(
        "project",
        "cold-open",
        ROOM_IDLE_SECONDS=0,
        COMPACT_AFTER_UPDATES=10**12,
        COMPACT_AFTER_BYTES=10**15,
    )
    cookie = users[0][1]

    def open_config() -> dict[str, Any]:
        return {
            "mode": "open",
            "urls": deployment.urls,
            "documents": [{"documentId": str(doc.pk), "cookies": [cookie]}],
            "opens": opens,
            "gapMs": 500,
            "expectLength": len(expected),
            "warmup": {"documentId": str(warmup_doc.pk), "cookies": [cookie]},
        }

    try:
        uncompacted = bench.run_generators([open_config()], deployment, "cold-uncompacted")
        doc.refresh_from_db()
        logged = DocumentUpdate.objects.filter(document=doc).count()
        still_uncompacted = doc.snapshot_seq == 0 and logged == len(updates)
        t0 = time.perf_counter()
        store.compact(doc.pk)
        compact_ms = (time.perf_counter() - t0) * 1000
        snapshot_bytes = len(bytes(Snapshot.objects.filter(document=doc).latest("seq").data))
        compacted_breakdown = breakdown()
        compacted = bench.run_generators([open_config()], deployment, "cold-compacted")
        text_after, _ = stored_text(doc.pk)
        peak_rss = deployment.peak_rss_kb / 1024
        server_log = deployment.log_summary()
    finally:
        deployment.stop()
    remaining = Document.objects.filter(pk=doc.pk).values_list("last_seq", "snapshot_seq").first()

    def phase(result: dict[str, Any]) -> dict[str, Any]:
        cpu_s = result["cpu"]["server_cpu_s"]
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
        "uncompacted": phase(uncompacted),
        "compacted": phase(compacted),
        "stored_text_ok": text_after == expected,
        "last_seq_snapshot_seq": list(remaining) if remaining else None,
        "server_peak_rss_mb": peak_rss,
        "server_log": server_log,
    }
    out["bars"] = {
        "uncompacted_under_200ms": (out["uncompacted"]["median_open_to_sync_ms"] or 1e9) < 200,
        "compacted_under_200ms": (out["compacted"]["median_open_to_sync_ms"] or 1e9) < 200,
        "content_ok": out["stored_text_ok"]
        and not out["uncompacted"]["failures"]
        and not out["compacted"]["failures"]
        and not out["uncompacted"]["errors"]
        and not out["compacted"]["errors"],
    }
    return out


SCENARIOS: dict[str, Callable[[Bench, str], dict[str, Any]]] = {
    "a": edit_scenario("a"),
    "a-caret": edit_scenario("a-caret"),
    "b": edit_scenario("b"),
    "c": edit_scenario("c"),
    "herd": scenario_herd,
    "ingest": scenario_ingest,
    "scale": scenario_scale,
    "cold-open": scenario_cold_open,
}
# cold-open measures the project's own store (no reference has one): only when asked for.
DEFAULT_SCENARIOS = ("a", "a-caret", "b", "c", "herd", "ingest", "scale")
PROJECT_ONLY = ("cold-open",)
