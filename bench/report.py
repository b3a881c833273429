"""Printing: each scenario's figures and bar, and the summary at the end of a run."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def yes(flag: Any) -> str:
    return "yes" if flag else "NO"


def row(label: str, value: str) -> None:
    print(f"  {label:<30} {value}")


def print_cpu(result: dict[str, Any]) -> None:
    cpu = result.get("cpu")
    if not cpu:
        return
    row(
        "server CPU (load window)",
        f"{fmt(cpu['server_cores'], 2)} cores avg, {fmt(cpu['server_peak_1s_cores'], 2)} peak 1 s"
        f" ({fmt(cpu['server_cpu_s'], 1)} CPU s over {fmt(cpu['wall_s'], 1)} s;"
        f" {fmt(100 * (cpu['server_sys_cores'] or 0) / max(cpu['server_cores'] or 0, 1e-9), 0)}%"
        " in the kernel)",
    )
    if result.get("server_cpu_per") and cpu.get("server_cpu_s") is not None:
        unit, count = result["server_cpu_per"]
        row("server CPU per " + unit, f"{fmt(1000 * cpu['server_cpu_s'] / max(count, 1), 2)} ms")
    row("server RSS", f"peak {fmt(result.get('server_peak_rss_mb'), 0)} MB")
    row(
        "other CPU (load window)",
        f"loadgen {fmt(cpu['loadgen_cores'], 2)}, postgres {fmt(cpu['postgres_cores'], 2)},"
        f" redis {fmt(cpu['redis_cores'], 2)} cores;"
        f" machine {fmt(cpu['machine_busy_pct'], 0)}% busy of {cpu['machine_cores']} cores"
        f" ({fmt(cpu['other_cores'], 2)} cores used by other processes)",
    )


def print_errors(errors: dict[str, Any]) -> None:
    parts = []
    if errors.get("closeCodes"):
        parts.append("close codes " + json.dumps(errors["closeCodes"]))
    for key in (
        "connectionErrors",
        "disconnects",
        "permissionDenied",
        "neverSynced",
        "skippedTicks",
    ):
        if errors.get(key):
            parts.append(f"{key} {errors[key]}")
    row("errors", ", ".join(parts) or "none")


def print_log(summary: dict[str, Any]) -> None:
    row(
        "server log",
        f"{summary['warnings_errors']} warning/error lines, {summary['compactions']} compactions",
    )
    for line in summary["first_problems"]:
        print(f"      {line[:220]}")


def print_edit(result: dict[str, Any]) -> None:
    lat = result["latencyMs"]
    delivered = result["delivered"]
    stored = result["stored"]
    row("setup (connect + sync)", f"{result['setupMs']} ms")
    row("edits sent", f"{result['sent']} ({fmt(result['sentPerSecond'])}/s)")
    row(
        "latency ms p50/p95/p99/max",
        f"{fmt(lat['p50'])} / {fmt(lat['p95'])} / {fmt(lat['p99'])} / {fmt(lat['max'])}"
        f"  ({lat['count']} samples)",
    )
    row(
        "delivered to full clients",
        f"{delivered['seen']}/{delivered['expected']}"
        f" ({fmt(100 * (delivered['fraction'] or 0), 2)}%), quiet after {result['quiesceMs']} ms",
    )
    row("full clients converged", yes(result["converged"]))
    row(
        "server copy == clients",
        f"{yes(stored['equal'] == stored['documents'])} ({stored['equal']}/{stored['documents']}"
        f" documents; {stored['stored_markers']}/{result['sent']} markers stored;"
        f" {stored['stored_updates']} updates in log, {stored['compacted_documents']} compacted)",
    )
    for line in stored["mismatched"]:
        print(f"      mismatch: {line}")
    by_second = result.get("latencyBySecond") or []
    row("p99 by second of the run", " ".join(fmt(b["p99"], 0) for b in by_second))
    row("max by second of the run", " ".join(fmt(b["max"], 0) for b in by_second))
    if result.get("compactions_at_s") is not None:
        row("compactions at second", " ".join(fmt(x) for x in result["compactions_at_s"]) or "none")
    print_errors(result["errors"])
    print_cpu(result)
    print_log(result["server_log"])


def print_open(result: dict[str, Any]) -> None:
    row(
        "history",
        f"{result['history_updates']} updates, {result['log_bytes']} log bytes,"
        f" {result['text_chars']} chars of text (built {fmt(result['build_s'])} s,"
        f" inserted {fmt(result['insert_s'])} s)",
    )
    for key, label in (("uncompacted", "uncompacted log"), ("compacted", "after store.compact()")):
        phase = result[key]
        row(
            f"{label}: open->sync",
            f"median {fmt(phase['median_open_to_sync_ms'])} ms  (each: "
            + ", ".join(fmt(x) for x in phase["open_to_sync_ms"])
            + ")",
        )
        row(
            "   split",
            f"open->step2 {fmt(phase['median_open_to_step2_ms'])} ms, client apply"
            f" {fmt(phase['median_client_apply_ms'])} ms, step 2 {phase['step2_bytes']} bytes,"
            f" server {fmt(phase['server_cpu_s_per_open'], 2)} CPU s/open",
        )
        if phase["failures"] or phase["errors"]:
            row("   problems", f"{phase['failures']} failed; {phase['errors']}")
    for key, label in (
        ("uncompacted", "in-process, uncompacted"),
        ("compacted", "in-process, compacted"),
    ):
        b = result[f"in_process_{key}"]
        row(
            label,
            f"store.load {fmt(b['load_ms'])} ms ({b['merged_bytes']} bytes), Doc.apply_update"
            f" {fmt(b['apply_ms'])} ms, get_update {fmt(b['step2_ms'])} ms",
        )
    row(
        "store.compact()",
        f"{fmt(result['compact_ms'])} ms -> snapshot {result['snapshot_bytes']} bytes",
    )
    row("log stayed uncompacted", yes(result["uncompacted_during_opens"]))
    row("stored text intact", yes(result["stored_text_ok"]))
    row("server RSS", f"peak {fmt(result['server_peak_rss_mb'], 0)} MB")
    print_log(result["server_log"])


def print_awareness(result: dict[str, Any]) -> None:
    lo, hi = result["framesPerClientPerSecondMinMax"]
    lat = result["caretLatencyMs"]
    row("setup (connect + sync)", f"{result['setupMs']} ms")
    row("caret moves sent", f"{result['moves']} ({fmt(result['movesPerSecond'])}/s)")
    row(
        "awareness frames received",
        f"{fmt(result['framesReceivedPerSecond'])}/s total,"
        f" {fmt(result['framesPerClientPerSecond'])}/s per client (min {fmt(lo)}, max {fmt(hi)})",
    )
    row("awareness entries received", f"{fmt(result['entriesReceivedPerSecond'])}/s total")
    row(
        "awareness frames sent",
        f"{fmt(result['framesSentPerSecond'])}/s total (stock clients re-send what they apply;"
        f" thin clients: {result['thinAwareness']})",
    )
    row(
        "caret latency ms p50/p95/p99/max",
        f"{fmt(lat['p50'])} / {fmt(lat['p95'])} / {fmt(lat['p99'])} / {fmt(lat['max'])}"
        f"  (at the full client, {lat['count']} samples)",
    )
    seen = result["finalCaretSeen"]
    row("final carets seen", f"{seen['seen']}/{seen['expected']}")
    print_errors(result["errors"])
    print_cpu(result)
    print_log(result["server_log"])


PRINTERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "a": print_edit,
    "b": print_edit,
    "c": print_open,
    "d": print_awareness,
}


def print_result(name: str, result: dict[str, Any]) -> None:
    print()
    print(f"== {name}) {result['title']} ==")
    row(
        "other load on the machine",
        f"{fmt(result.get('background_cores_before'), 2)} cores busy just before the scenario",
    )
    PRINTERS[name](result)
    if result.get("server_profile"):
        print("  server profile (cProfile, main thread, by own time):")
        for line in result["server_profile"].splitlines():
            if line.strip():
                print(f"    {line[:160]}")
    failed = [k for k, v in result["bar"].items() if not v]
    row("bar", "PASS" if result["pass"] else "FAIL: " + ", ".join(failed))
    sys.stdout.flush()


def print_summary(scenarios: dict[str, Any], total: float) -> None:
    print()
    print("== summary ==")
    for name, result in scenarios.items():
        figure = ""
        if name in ("a", "b"):
            lat = result["latencyMs"]
            figure = (
                f"p50 {fmt(lat['p50'])} / p99 {fmt(lat['p99'])} ms,"
                f" delivered {fmt(100 * (result['delivered']['fraction'] or 0), 2)}%,"
                f" server {fmt(result['cpu']['server_cores'], 2)} cores"
            )
        elif name == "c":
            figure = (
                f"open->sync median {fmt(result['uncompacted']['median_open_to_sync_ms'])} ms"
                f" uncompacted, {fmt(result['compacted']['median_open_to_sync_ms'])} ms compacted"
            )
        elif name == "d":
            figure = (
                f"{fmt(result['framesReceivedPerSecond'], 0)} frames/s received"
                f" ({fmt(result['framesPerClientPerSecond'])}/client),"
                f" server {fmt(result['cpu']['server_cores'], 2)} cores"
            )
        print(f"  {name}) {'PASS' if result['pass'] else 'FAIL'}  {figure}")
    print(f"  total {total:.0f} s")
