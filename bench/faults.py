"""Fault suite: two real Daphne processes on a throwaway PostgreSQL and Redis, stock y-websocket
clients typing in Node, and one service broken under them per scenario.

    .venv/bin/python bench/faults.py                          # every scenario (about 5 minutes)
    .venv/bin/python bench/faults.py --scenario kill-server fuzz
    .venv/bin/python bench/faults.py --quick                  # shorter phases, 1,000 fuzz frames

Scenarios:
  redis-restart       redis-server killed (SIGKILL), restarted on the same port 2 s later
  postgres-immediate  pg_ctl stop -m immediate, started again 3 s later
  postgres-fast       pg_ctl stop -m fast, started again 3 s later
  kill-server         kill -9 of one Daphne process, restarted on the same port 1 s later
  fuzz                10,000 mutated frames over raw WebSockets as an editor of one document

Load in every scenario: 10 documents x 4 clients (2 on each process) x 5 edits/s, each client
moving its caret twice a second (yclients/fault-load.mjs). Bar (issue 9): nothing lost, and every
document's clients equal to each other and to the database within 5 s of the service's return
(goal 2 s); no server process crashed; after fuzzing, the document loads. The exit status is
non-zero when a bar is missed, and the misses are printed.

It measures whatever the server code does when it runs; it is not a test and fixes nothing.
The PostgreSQL cluster and Redis server are its own (free loopback ports, deleted at the end):
the machine's services on 5432 and 6379 are never touched.
"""

from __future__ import annotations

import argparse
import json
import math
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, this file's directory is on sys.path, not the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fault_analysis as fa
from bench.common import log
from bench.fault_fuzz import FuzzResult, run_fuzz
from bench.fault_services import ThrowawayPostgres, ThrowawayRedis, close_services
from bench.harness import YCLIENTS, Bench, stored_text
from bench.procstat import proc_status_kb, wait_for_idle
from bench.services import Server, setup_django
from devtools import processes

FAULT_LOAD = YCLIENTS / "fault-load.mjs"
DOCUMENTS, CLIENTS, RATE, CARET_RATE = 10, 4, 5, 2
BAR_S, GOAL_S = 5.0, 2.0


@dataclass
class Stage:
    """What a scenario's fault acts on."""

    name: str
    args: argparse.Namespace
    pg: ThrowawayPostgres
    redis: ThrowawayRedis
    servers: list[Server]
    document_ids: list[str]
    fuzz_cookie: str
    fuzz: FuzzResult | None = None


def redis_restart(stage: Stage) -> tuple[float, float]:
    t = time.time()
    stage.redis.kill()
    time.sleep(2.0)  # the outage itself
    stage.redis.start()
    return t, time.time()


def postgres_stop(mode: str) -> Callable[[Stage], tuple[float, float]]:
    def fault(stage: Stage) -> tuple[float, float]:
        t = time.time()
        stage.pg.stop(mode)
        time.sleep(max(0.0, 3.0 - (time.time() - t)))  # the outage itself
        stage.pg.start()
        return t, time.time()

    return fault


def kill_server(stage: Stage) -> tuple[float, float]:
    victim = stage.servers[1]
    t = time.time()
    victim.kill()
    time.sleep(1.0)  # the outage itself
    victim.start()
    return t, time.time()


def fuzz(stage: Stage) -> tuple[float, float]:
    doc = stage.document_ids[0]
    urls = [(f"{s.ws_url}/ws/documents/{doc}", s.url) for s in stage.servers]
    t = time.time()
    stage.fuzz = run_fuzz(
        stage.args.frames, urls, stage.fuzz_cookie, workers=stage.args.fuzz_workers
    )
    return t, time.time()


FAULTS: dict[str, Callable[[Stage], tuple[float, float]]] = {
    "redis-restart": redis_restart,
    "postgres-immediate": postgres_stop("immediate"),
    "postgres-fast": postgres_stop("fast"),
    "kill-server": kill_server,
    "fuzz": fuzz,
}


class RssPeak(threading.Thread):
    """The servers' peak RSS (VmHWM), sampled: a process killed mid-run takes its own with it."""

    def __init__(self, servers: list[Server]) -> None:
        super().__init__(daemon=True)
        self.servers = servers
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for server in self.servers:
                if server.process is not None:
                    self.peak_kb = max(self.peak_kb, proc_status_kb(server.pid, "VmHWM") or 0)
            self.done.wait(0.5)


class LoadProcess:
    """yclients/fault-load.mjs, its JSON-line events read on a thread."""

    def __init__(self, config_path: Path) -> None:
        self.proc = subprocess.Popen(
            ["node", str(FAULT_LOAD), str(config_path)],
            cwd=YCLIENTS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                log(f"fault-load: {line.rstrip()}")
        self.events.put({"event": "exit"})

    def wait(self, name: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"fault-load: no {name!r} within {timeout} s") from None
            if "fatal" in event:
                raise RuntimeError(f"fault-load failed: {event['fatal']}")
            if event.get("event") == "exit":
                raise RuntimeError(f"fault-load exited (status {self.proc.wait()}) before {name!r}")
            if event.get("event") == name:
                return event

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        processes.kill(self.proc)


def read_stored(
    document_ids: list[str], wanted: dict[str, Callable[[str], bool]], timeout: float
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each document as stored (snapshot + log, loaded with pycrdt), polled until each
    satisfies `wanted` or `timeout` passes: the servers may still be committing."""
    from django.db import DatabaseError, connections

    from documents.storage.store import LoadError

    texts: dict[str, str | None] = dict.fromkeys(document_ids)
    errors: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        connections.close_all()  # the database may have restarted under this process
        for doc in document_ids:
            if texts[doc] is not None and wanted[doc](texts[doc] or ""):
                continue
            try:
                texts[doc] = stored_text(doc)[0]
                errors.pop(doc, None)
            except LoadError as exc:
                errors[doc] = f"does not load: {exc}"
            except DatabaseError as exc:
                errors[doc] = f"database: {exc}".splitlines()[0]
        if all(t is not None and wanted[d](t) for d, t in texts.items()):
            return texts, errors
        if time.monotonic() > deadline:
            return texts, errors
        time.sleep(0.25)


@dataclass
class Outcome:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_scenario(
    name: str, args: argparse.Namespace, pg: ThrowawayPostgres, redis: ThrowawayRedis, tmp: Path
) -> Outcome:
    run_id = uuid.uuid4().hex[:8]
    bench = Bench(run_id, pg.url, tmp, args, redis_url=redis.url)
    label = f"{name}-{run_id}"
    users = bench.make_users(label, CLIENTS + 1)  # the last one is the fuzzer, also an editor
    docs = bench.make_documents(label, [u for u, _ in users], DOCUMENTS)
    cookies = [c for _, c in users]
    document_ids = [str(d.pk) for d in docs]
    servers = [bench.server(f"{name}-a"), bench.server(f"{name}-b")]
    stage = Stage(name, args, pg, redis, servers, document_ids, cookies[-1])
    rss = RssPeak(servers)
    rss.start()
    dump = tmp / f"clients-{name}.json"
    config = tmp / f"fault-load-{name}.json"
    config.write_text(
        json.dumps(
            {
                "servers": [{"url": s.ws_url, "origin": s.url} for s in servers],
                "documents": [
                    {"documentId": d, "cookies": cookies[:CLIENTS]} for d in document_ids
                ],
                "clients": CLIENTS,
                "rate": RATE,
                "awarenessRate": CARET_RATE,
                "maxSeconds": 900,
                "dump": str(dump),
            }
        )
    )
    load = LoadProcess(config)
    try:
        return measure(stage, load, dump, rss)
    finally:
        load.kill()
        rss.done.set()
        for server in servers:
            server.stop()


def measure(stage: Stage, load: LoadProcess, dump: Path, rss: RssPeak) -> Outcome:
    name, args, servers, document_ids = stage.name, stage.args, stage.servers, stage.document_ids
    out = Outcome(name)
    try:
        ready = load.wait("ready", 60)["epochMs"] / 1000
        time.sleep(max(0.0, ready + args.calm - time.time()))
        log(f"{name}: breaking the service")
        fault, back = FAULTS[name](stage)
        for server in servers:
            server.time_origin = fault  # log lines are shown relative to the fault
        log(f"{name}: service back after {back - fault:.1f} s; typing on for {args.after:g} s")
        time.sleep(max(0.0, back + args.after - time.time()))
        load.stop()
        stopped = load.wait("stopped", 30)["epochMs"] / 1000
        result = load.wait("result", 90)
        load.proc.wait(10)
        alive = [s.running() for s in servers]
    finally:
        rss.done.set()
    record = json.loads(dump.read_text())
    clients = record["clients"]
    tl = fa.Timeline(ready, fault, back, stopped)

    # What the clients hold, then what the database holds.
    per_doc = fa.by_document(clients)
    client_texts = {document_ids[i]: [c["text"] for c in cs] for i, cs in per_doc.items()}
    typed = fa.typed(clients)
    typed_in = {
        document_ids[i]: {(c["gid"], n) for c in cs for n in range(len(c["sentAt"]))}
        for i, cs in per_doc.items()
    }

    def wanted(doc: str) -> Callable[[str], bool]:
        texts = client_texts[doc]
        if all(t == texts[0] for t in texts):
            return lambda stored: stored == texts[0]
        return lambda stored: typed_in[doc] <= fa.markers(stored)

    stored, load_errors = read_stored(
        document_ids, {d: wanted(d) for d in document_ids}, args.db_wait
    )
    in_db = set().union(*(fa.markers(t or "") for t in stored.values())) & typed
    fresh = {document_ids[f["doc"]]: f for f in record["fresh"]}
    converged = [
        d
        for d in document_ids
        if stored[d] is not None
        and all(t == stored[d] for t in client_texts[d])
        and fresh[d]["synced"]
        and fresh[d]["text"] == stored[d]
    ]
    pairs, seen, expected = fa.deliveries(clients)
    baseline = fa.baseline_p95_ms(pairs, tl)
    threshold = fa.normal_latency_threshold_ms(baseline)
    codes = fa.close_codes(clients)
    calm_carets = fa.caret_latencies(clients, tl.ready + 1, tl.fault, cross=True)
    gone = [c["gid"] for c in clients if not c["shouldConnect"] or not c["connected"]]
    out.figures = {
        "outage_s": back - fault,
        "typed": len(typed),
        "typed_offline": sum(c["sentOffline"] for c in clients),
        "in_db": len(in_db),
        "lost": len(typed - in_db),
        "delivered_pct": 100 * seen / expected if expected else math.nan,
        "converged": len(converged),
        "documents": len(document_ids),
        "convergence_after_return_s": fa.convergence_after_return(pairs, back),
        "final_convergence_s": max(
            ((t / 1000 - stopped) if t is not None else math.inf) for t in record["convergedAt"]
        ),
        "baseline_p95_ms": baseline,
        "normal_latency_threshold_ms": threshold,
        "latency_normal_after_s": fa.back_to_normal(pairs, tl, threshold),
        "presence_recovery_s": fa.presence_recovery(clients, back),
        # Steady state, before the fault: carets from the other process, move to arrival.
        "calm_cross_caret_ms": {
            q: 1000 * fa.quantile(calm_carets, v) for q, v in (("p50", 0.5), ("p99", 0.99))
        },
        "carets_removed_while_owner_connected": len(fa.removed_while_connected(clients)),
        "close_codes": dict(sorted(codes.items(), key=lambda kv: str(kv[0]))),
        "connection_errors": sum(c["connectionErrors"] for c in clients),
        "clients_disconnected_at_end": len(gone),
        "server_rss_peak_mb": rss.peak_kb / 1024,
        "servers_alive_at_end": sum(alive),
        "skipped_ticks": result.get("skippedTicks", 0),
        "client_exceptions": result.get("clientExceptions", 0),
        "client_update_errors": sum(c["updateErrors"] for c in clients),
        "fresh_update_errors": sum(f["updateErrors"] for f in fresh.values()),
        "load_errors": load_errors,
        "server_log": [s.log_summary() for s in servers],
    }
    if stage.fuzz is not None:
        fz = stage.fuzz
        out.figures["fuzz"] = {
            "frames_sent": fz.frames_sent,
            "sockets": fz.sockets,
            "refused_handshakes": fz.refused_handshakes,
            "close_codes": dict(sorted(fz.close_codes.items(), key=lambda kv: str(kv[0]))),
            "seconds": fz.seconds,
            "connect_s": fz.connect_s,
            "close_s": fz.close_s,
        }
    judge(out)
    return out


def judge(out: Outcome) -> None:
    f = out.figures
    if f["lost"]:
        out.misses.append(f"{f['lost']} of {f['typed']} typed edits are not in the database")
    if f["converged"] < f["documents"]:
        out.misses.append(
            f"only {f['converged']} of {f['documents']} documents converged"
            " (clients, the database and a fresh client all equal)"
        )
    conv = f["convergence_after_return_s"]
    if conv > BAR_S:
        out.misses.append(
            "edits typed before the service's return reached every client "
            + ("never" if math.isinf(conv) else f"{conv:.1f} s after it")
            + f" (bar {BAR_S:g} s)"
        )
    elif conv > GOAL_S:
        out.notes.append(f"convergence {conv:.1f} s after the return: over the {GOAL_S:g} s goal")
    if f["servers_alive_at_end"] < 2:
        out.misses.append(f"{2 - f['servers_alive_at_end']} server process(es) died")
    for doc, why in f["load_errors"].items():
        out.misses.append(f"document {doc} {why}")
    if f["clients_disconnected_at_end"]:
        out.notes.append(
            f"{f['clients_disconnected_at_end']} client(s) not connected at the end"
            " (a 4400-4499 close stops a stock client for good)"
        )
    if f["client_exceptions"]:
        out.misses.append(
            f"{f['client_exceptions']} exception(s) in stock clients (what the server relayed)"
        )
    refused = f["client_update_errors"] + f["fresh_update_errors"]
    if refused:
        out.misses.append(
            f"stock clients could not apply {refused} update(s) the server accepted and sent"
            f" ({f['fresh_update_errors']} of them in a fresh client's load of the document)"
        )
    if f["skipped_ticks"]:
        out.notes.append(f"load generator fell behind: {f['skipped_ticks']} ticks skipped")


def seconds(x: float) -> str:
    return "never" if math.isinf(x) else f"{x:.1f} s"


def codes_text(codes: dict[Any, int]) -> str:
    return " ".join(f"{k}x{v}" for k, v in codes.items()) or "none"


COLUMNS = [
    ("scenario", 18),
    ("out", 5),
    ("typed", 6),
    ("in DB", 6),
    ("lost", 5),
    ("deliv.", 7),
    ("converged", 9),
    ("conv. after", 11),
    ("latency ok", 10),
    ("presence", 9),
    ("RSS peak", 9),
    ("client close codes", 0),
]


def table_row(out: Outcome) -> list[str]:
    f = out.figures
    return [
        out.name,
        f"{f['outage_s']:.1f}",
        str(f["typed"]),
        str(f["in_db"]),
        str(f["lost"]),
        f"{f['delivered_pct']:.2f}%",
        f"{f['converged']}/{f['documents']}",
        seconds(f["convergence_after_return_s"]),
        seconds(f["latency_normal_after_s"]),
        seconds(f["presence_recovery_s"]),
        f"{f['server_rss_peak_mb']:.0f} MB",
        codes_text(f["close_codes"]),
    ]


def print_table(outcomes: list[Outcome]) -> None:
    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True)).rstrip()

    print(line([c for c, _ in COLUMNS]))
    for out in outcomes:
        if not out.figures:
            print(f"{out.name.ljust(COLUMNS[0][1])}  could not run   <- BAR MISSED")
            continue
        print(line(table_row(out)) + ("" if not out.misses else "   <- BAR MISSED"))


def print_details(out: Outcome) -> None:
    f = out.figures
    print(
        f"\n{out.name}: {'PASS' if not out.misses else 'FAIL'} - service out {f['outage_s']:.1f} s;"
        f" {f['typed']} edits typed ({f['typed_offline']} while disconnected),"
        f" {f['in_db']} in the database, {f['lost']} lost; delivered {f['delivered_pct']:.2f}%;"
        f" {f['converged']}/{f['documents']} documents converged"
    )
    print(
        f"  edits typed before the return reached everyone"
        f" {seconds(f['convergence_after_return_s'])} after it; all replicas equal"
        f" {seconds(f['final_convergence_s'])} after typing stopped;"
        f" latency back under {f['normal_latency_threshold_ms']:.0f} ms"
        f" (calm p95 {f['baseline_p95_ms']:.1f} ms)"
        f" {seconds(f['latency_normal_after_s'])} after the return;"
        f" cross-process carets seen again {seconds(f['presence_recovery_s'])} after it"
    )
    calm = f["calm_cross_caret_ms"]
    print(
        f"  calm cross-process carets p50 {calm['p50']:.0f} ms, p99 {calm['p99']:.0f} ms;"
        f" carets removed while their owner was connected:"
        f" {f['carets_removed_while_owner_connected']}"
    )
    print(
        f"  client close codes: {codes_text(f['close_codes'])};"
        f" connection errors {f['connection_errors']};"
        f" server peak RSS {f['server_rss_peak_mb']:.0f} MB;"
        f" servers alive at the end {f['servers_alive_at_end']}/2;"
        f" other work on the machine before the start"
        f" {f.get('background_cores_before', math.nan):.2f} cores"
    )
    if "fuzz" in f:
        fz = f["fuzz"]
        print(
            f"  fuzzer: {fz['frames_sent']} frames over {fz['sockets']} sockets in"
            f" {fz['seconds']:.1f} s ({fz['connect_s']:.1f} s opening sockets,"
            f" {fz['close_s']:.1f} s closing them; {fz['refused_handshakes']} handshakes refused);"
            f" close codes {codes_text(fz['close_codes'])}"
        )
    for i, summary in enumerate(f["server_log"]):
        if summary["warnings_errors"]:
            print(f"  server {'ab'[i]}: {summary['warnings_errors']} warning/error log lines:")
            for problem in summary["first_problems"][:4]:
                print(f"    {problem[:220]}")
    for miss in out.misses:
        print(f"  MISSED: {miss}")
    for note in out.notes:
        print(f"  note: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", nargs="+", choices=list(FAULTS), default=list(FAULTS))
    parser.add_argument(
        "--quick", action="store_true", help="4 s calm, 8 s after the return, 1,000 fuzz frames"
    )
    parser.add_argument("--calm", type=float, help="seconds of normal load before the fault (8)")
    parser.add_argument("--after", type=float, help="seconds of typing after the return (20)")
    parser.add_argument("--frames", type=int, help="fuzzed frames (10,000)")
    parser.add_argument(
        "--fuzz-workers", type=int, default=2, help="fuzzing sockets open at a time (2)"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each scenario, wait up to this long for other work on the machine to drop"
        " under 0.3 cores",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temp files (server logs)")
    parser.set_defaults(profile=False)  # Bench.server reads it
    args = parser.parse_args(argv)
    args.calm = args.calm or (4.0 if args.quick else 8.0)
    args.after = args.after or (8.0 if args.quick else 20.0)
    args.frames = args.frames or (1000 if args.quick else 10_000)
    args.db_wait = 15.0
    if shutil.which("node") is None:
        parser.error("node is not on PATH")
    if not (YCLIENTS / "node_modules" / "y-websocket").is_dir():
        parser.error("yclients/node_modules is missing: run `make yclients`")

    from bench.run import environment

    env = environment()
    tmp = Path(tempfile.mkdtemp(prefix="faults-"))
    pg = ThrowawayPostgres()
    redis = ThrowawayRedis().start()
    log(f"throwaway PostgreSQL {pg.url}, Redis {redis.url}; temp files in {tmp}")
    outcomes: list[Outcome] = []
    try:
        setup_django(pg.url, "faults", redis.url)
        print(
            f"fault suite: server code {env['git']} ({env['server_files_modified']} uncommitted"
            f" files in documents/, editor_project/); {env['cores']} x {env['cpu']};"
            f" load average {', '.join(f'{x:.2f}' for x in env['loadavg_at_start'])}",
            flush=True,
        )
        print(
            f"load: {DOCUMENTS} documents x {CLIENTS} clients (split over 2 processes)"
            f" x {RATE} edits/s, carets {CARET_RATE}/s; {args.calm:g} s calm, the fault,"
            f" {args.after:g} s after the return",
            flush=True,
        )
        for name in args.scenario:
            log(f"scenario {name}")
            background = wait_for_idle(args.wait_idle, 0.3)
            try:
                out = run_scenario(name, args, pg, redis, tmp)
                out.figures["background_cores_before"] = background
            except Exception as exc:  # one broken scenario must not hide the others' figures
                log(f"{name} could not run: {exc!r}")
                out = Outcome(name, misses=[f"the scenario could not run: {exc}"])
                outcomes.append(out)
                continue
            outcomes.append(out)
            print_details(out)
            sys.stdout.flush()
    finally:
        close_services(pg, redis, tmp, args.keep)
    print()
    print_table(outcomes)
    missed = [o for o in outcomes if o.misses]
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"environment": env, "scenarios": {o.name: o.__dict__ for o in outcomes}},
                indent=2,
                default=str,
            )
        )
    if missed:
        print(f"\nBAR MISSED in {', '.join(o.name for o in missed)}:")
        for o in missed:
            for miss in o.misses:
                print(f"  {o.name}: {miss}")
        return 1
    print(f"\nall {len(outcomes)} scenarios met the bar")
    return 0


if __name__ == "__main__":
    sys.exit(main())
