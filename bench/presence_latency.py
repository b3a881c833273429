"""Presence across processes under steady load: how late carets arrive, and whether any
caret of a connected client is taken away.

    .venv/bin/python bench/presence_latency.py               # 10 docs x 4 clients x 5 edits/s, 20 s
    .venv/bin/python bench/presence_latency.py --rate 2 --seconds 30
    .venv/bin/python bench/presence_latency.py --layer core  # CHANNEL_LAYER=core on the servers

Two real Daphne processes on a throwaway PostgreSQL and Redis (the fault suite's), stock
y-websocket clients in Node (yclients/fault-load.mjs), each document's clients split over both
processes, each client moving its caret `--caret-rate` times a second. Nothing is broken: this
is the steady state the faults are judged against. Figures: caret latency from the move to its
first arrival at each client of the document on the other process (p50/p90/p99/max, and on
the same process for comparison), edit latency, carets removed while their owner was connected
(a live process presumed dead), and the servers' "lost the channel layer" log lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fault_analysis as fa
from bench.fault_services import ThrowawayPostgres, ThrowawayRedis, close_services
from bench.faults import LoadProcess
from bench.harness import YCLIENTS, Bench
from bench.services import Server, setup_django

WARMUP_S = 2.0  # the first moves race the peers' hellos: not the steady state


def run(
    args: argparse.Namespace, pg: ThrowawayPostgres, redis: ThrowawayRedis, tmp: Path
) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    bench = Bench(run_id, pg.url, tmp, args, redis_url=redis.url)
    label = f"presence-{run_id}"
    users = bench.make_users(label, args.clients)
    docs = bench.make_documents(label, [u for u, _ in users], args.documents)
    cookies = [c for _, c in users]
    servers: list[Server] = []
    if args.layer:
        os.environ["CHANNEL_LAYER"] = args.layer  # server_environment copies this process's
    for name in ("a", "b"):
        servers.append(bench.server(f"presence-{name}"))
    dump = tmp / "clients.json"
    config = tmp / "load.json"
    config.write_text(
        json.dumps(
            {
                "servers": [{"url": s.ws_url, "origin": s.url} for s in servers],
                "documents": [{"documentId": str(d.pk), "cookies": cookies} for d in docs],
                "clients": args.clients,
                "rate": args.rate,
                "awarenessRate": args.caret_rate,
                "maxSeconds": args.seconds + 60,
                "dump": str(dump),
            }
        )
    )
    load = LoadProcess(config)
    try:
        ready = load.wait("ready", 60)["epochMs"] / 1000
        time.sleep(max(0.0, ready + args.seconds - time.time()))
        load.stop()
        stopped = load.wait("stopped", 30)["epochMs"] / 1000
        result = load.wait("result", 90)
        load.proc.wait(10)
    finally:
        load.kill()
        for server in servers:
            server.stop()
    clients = json.loads(dump.read_text())["clients"]
    since = ready + WARMUP_S
    cross = fa.caret_latencies(clients, since, stopped, cross=True)
    same = fa.caret_latencies(clients, since, stopped, cross=False)
    pairs, seen, expected = fa.deliveries(clients)
    edits = [s - t for t, s in pairs if since <= t < stopped and s is not None]
    removed = fa.removed_while_connected(clients)
    lost_layer = [
        line for s in servers for line in s.log_lines() if "lost the channel layer" in line
    ]
    return {
        "seconds": stopped - ready,
        "cross_process_caret_ms": {
            q: 1000 * fa.quantile(cross, v)
            for q, v in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        "cross_process_caret_arrivals": len(cross),
        "same_process_caret_ms": {
            q: 1000 * fa.quantile(same, v) for q, v in (("p50", 0.5), ("p99", 0.99))
        },
        "edit_ms": {q: 1000 * fa.quantile(edits, v) for q, v in (("p50", 0.5), ("p99", 0.99))},
        "edits_delivered_pct": 100 * seen / expected if expected else float("nan"),
        "carets_removed_while_owner_connected": len(removed),
        "removed_examples": [
            (round(t - ready, 2), observer, owner) for t, observer, owner in removed[:5]
        ],
        "lost_the_layer_log_lines": len(lost_layer),
        "lost_the_layer_examples": lost_layer[:3],
        "skipped_ticks": result.get("skippedTicks", 0),
        "client_exceptions": result.get("clientExceptions", 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4, help="per document (split over 2)")
    parser.add_argument("--rate", type=float, default=5, help="edits/s per client")
    parser.add_argument("--caret-rate", type=float, default=2, help="caret moves/s per client")
    parser.add_argument("--seconds", type=float, default=20, help="of steady typing")
    parser.add_argument("--layer", choices=["core", "pubsub"], help="CHANNEL_LAYER for the servers")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temp files (server logs)")
    parser.set_defaults(profile=False)  # Bench.server reads it
    args = parser.parse_args(argv)
    if not (YCLIENTS / "node_modules" / "y-websocket").is_dir():
        parser.error("yclients/node_modules is missing: run `make yclients`")
    tmp = Path(tempfile.mkdtemp(prefix="presence-"))
    pg = ThrowawayPostgres()
    redis = ThrowawayRedis().start()
    try:
        setup_django(pg.url, "presence", redis.url)
        figures = run(args, pg, redis, tmp)
    finally:
        close_services(pg, redis, tmp, args.keep)
    c = figures["cross_process_caret_ms"]
    s = figures["same_process_caret_ms"]
    e = figures["edit_ms"]
    print(
        f"{args.documents} documents x {args.clients} clients x {args.rate:g} edits/s,"
        f" carets {args.caret_rate:g}/s, {figures['seconds']:.0f} s"
        f" (layer {args.layer or 'default'})"
    )
    print(
        f"  cross-process carets: p50 {c['p50']:.0f} ms, p90 {c['p90']:.0f} ms,"
        f" p99 {c['p99']:.0f} ms, max {c['max']:.0f} ms"
        f" ({figures['cross_process_caret_arrivals']} arrivals);"
        f" same process p50 {s['p50']:.0f} ms, p99 {s['p99']:.0f} ms"
    )
    print(
        f"  edits: p50 {e['p50']:.0f} ms, p99 {e['p99']:.0f} ms,"
        f" delivered {figures['edits_delivered_pct']:.2f}%"
    )
    print(
        f"  carets removed while their owner was connected:"
        f" {figures['carets_removed_while_owner_connected']}"
        f" {figures['removed_examples'] or ''};"
        f" 'lost the channel layer' log lines: {figures['lost_the_layer_log_lines']}"
    )
    for line in figures["lost_the_layer_examples"]:
        print(f"    {line[:200]}")
    if figures["skipped_ticks"] or figures["client_exceptions"]:
        print(
            f"  load generator: {figures['skipped_ticks']} ticks skipped,"
            f" {figures['client_exceptions']} client exceptions"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
