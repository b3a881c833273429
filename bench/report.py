"""Printing and judging: each scenario's figures side by side for the project and the two
reference servers, the ratios, PASS/MISS against the bars, and the summary of a run."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

KINDS = ("project", "hocuspocus", "y-websocket")
EDIT_SCENARIOS = ("a", "a-caret", "b", "c", "scale")


def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def yes(flag: Any) -> str:
    return "yes" if flag else "NO"


def ratio(x: float | None, y: float | None) -> float | None:
    if x is None or not y:
        return None
    return x / y


def per_edit_ms(result: dict[str, Any], group: str) -> float | None:
    """CPU milliseconds of a process group (server, postgres, redis) per delivered edit."""
    cpu = result.get("cpu") or {}
    seconds = cpu.get(f"{group}_cpu_s")
    edits = result.get("edits_delivered") or 0
    return None if seconds is None or not edits else 1000 * seconds / edits


def with_database_ms(result: dict[str, Any]) -> float | None:
    """Server plus PostgreSQL CPU per delivered edit: the references keep documents in memory,
    so the database's share of saving every edit is the project's cost too."""
    server = per_edit_ms(result, "server")
    if server is None:
        return None
    return server + (per_edit_ms(result, "postgres") or 0.0)


def loop_delay_p99(result: dict[str, Any]) -> float | None:
    delays = [g["loopDelayMs"]["p99"] for g in result.get("loadgens") or [] if g]
    return max(delays) if delays else None


def errors_text(errors: dict[str, Any]) -> str:
    parts = []
    if errors.get("closeCodes"):
        parts.append("close codes " + json.dumps(errors["closeCodes"]))
    if errors.get("connectionErrorKinds"):
        parts.append("socket errors " + json.dumps(errors["connectionErrorKinds"]))
    for key in ("connectionErrors", "disconnects", "permissionDenied", "neverSynced"):
        if errors.get(key):
            parts.append(f"{key} {errors[key]}")
    if errors.get("skippedTicks"):
        parts.append(f"generator skipped {errors['skippedTicks']} ticks")
    return ", ".join(parts) or "none"


# -- the bars (issue 10: ratios to Hocuspocus) -----------------------------------------------


def edit_bars(name: str, ours: dict[str, Any], hp: dict[str, Any] | None) -> dict[str, bool]:
    lat = ours["latencyMs"]
    stored = ours.get("stored") or {}
    bars = {
        "100% delivered": ours["delivered"]["fraction"] == 1,
        "converged": bool(ours["converged"]) and stored.get("equal") == stored.get("documents"),
        "every edit in the database": stored.get("stored_markers") == ours["sent"],
    }
    hp_p99 = hp["latencyMs"]["p99"] if hp else None
    if name in ("a", "a-caret", "c"):
        bars["p50 <= 10 ms"] = lat["p50"] is not None and lat["p50"] <= 10
        if hp_p99 is not None:
            bars["p99 <= 2x Hocuspocus"] = lat["p99"] is not None and lat["p99"] <= 2 * hp_p99
        cpu = ratio(with_database_ms(ours), per_edit_ms(hp, "server") if hp else None)
        if cpu is not None:
            bars["server + PostgreSQL CPU/edit <= 3x Hocuspocus"] = cpu <= 3
    elif name == "b" and hp_p99 is not None:
        bars["p99 <= 3x Hocuspocus"] = lat["p99"] is not None and lat["p99"] <= 3 * hp_p99
    elif name == "scale":
        bars["p99 < 100 ms, one process"] = lat["p99"] is not None and lat["p99"] < 100
        two = ours.get("two_processes")
        if two:
            p99 = two["latencyMs"]["p99"]
            bars["p99 < 100 ms, two processes"] = p99 is not None and p99 < 100
            bars["two processes: 100% delivered"] = two["delivered"]["fraction"] == 1
            stored2 = two.get("stored") or {}
            bars["two processes: every edit in the database"] = (
                stored2.get("stored_markers") == two["sent"]
            )
            bars["two processes: converged"] = stored2.get("equal") == stored2.get("documents")
    return bars


def judge(name: str, results: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """The bars of one scenario, for the project (what the bar is about)."""
    ours = results.get("project")
    if ours is None or "error" in ours:
        return {"the project ran": False} if ours else {}
    hp = results.get("hocuspocus")
    hp = hp if hp and "error" not in hp else None
    if name in EDIT_SCENARIOS:
        return edit_bars(name, ours, hp)
    if name == "herd":
        return {
            "all synced < 500 ms": (ours["allSyncedMs"] or 1e9) < 500,
            "converged": bool(ours["converged"]),
        }
    if name == "ingest":
        stored = ours.get("stored") or {}
        return {
            ">= 10,000 durable updates/s": (ours["updatesPerSecond"] or 0) >= 10_000,
            "every update in the database": stored.get("text_length") == ours["edits"],
        }
    return dict(ours.get("bars") or {})


# -- printing ------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def side_by_side(
    results: dict[str, dict[str, Any]], rows: list[tuple[str, Callable[[dict[str, Any]], str]]]
) -> None:
    kinds = [k for k in KINDS if k in results]
    body = []
    for label, cell in rows:
        line = [label]
        for kind in kinds:
            r = results[kind]
            line.append("error" if "error" in r else cell(r))
        body.append(line)
    table(["", *kinds], body)


def ratios_line(
    results: dict[str, dict[str, Any]],
    figures: list[tuple[str, Callable[[dict[str, Any]], float | None]]],
) -> None:
    ours = results.get("project")
    if not ours or "error" in ours:
        return
    for ref in ("hocuspocus", "y-websocket"):
        other = results.get(ref)
        if not other or "error" in other:
            continue
        parts = [f"{label} {fmt(ratio(get(ours), get(other)), 2)}x" for label, get in figures]
        print(f"  project / {ref}: " + ", ".join(parts))


def cpu_cell(group: str) -> Callable[[dict[str, Any]], str]:
    def cell(r: dict[str, Any]) -> str:
        cpu = r.get("cpu") or {}
        if f"{group}_cpu_s" not in cpu:
            return "-"
        return f"{fmt(per_edit_ms(r, group), 3)} ms ({fmt(cpu[f'{group}_cores'], 2)} cores)"

    return cell


def loadgen_cell(r: dict[str, Any]) -> str:
    cpu = r.get("cpu") or {}
    gens = [g for g in r.get("loadgens") or [] if g]
    cores = " + ".join(fmt(g["cores"], 2) for g in gens)
    return (
        f"{cores} cores, loop p99 {fmt(loop_delay_p99(r), 0)} ms"
        if gens
        else fmt(cpu.get("loadgen_cores"), 2)
    )


def commits_cell(r: dict[str, Any]) -> str:
    m = r.get("server_metrics")
    return f"{fmt(m['commit_batches'])}, {fmt(m['updates_per_batch'], 1)}" if m else "-"


def commit_times_cell(r: dict[str, Any]) -> str:
    m = r.get("server_metrics")
    if not m:
        return "-"
    return (
        f"{fmt(m['commit_mean_ms'], 1)}, {fmt(m['commit_p50_ms_at_most'], 1)},"
        f" {fmt(m['commit_p99_ms_at_most'], 1)}"
    )


def heals_cell(r: dict[str, Any]) -> str:
    m = r.get("server_metrics")
    return f"{fmt(m['gap_heals'])}, {fmt(m['layer_errors'])}" if m else "-"


def print_edit(results: dict[str, dict[str, Any]]) -> None:
    lat = lambda r: r["latencyMs"]  # noqa: E731
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("edits sent", lambda r: f"{fmt(r['sent'])} ({fmt(r['sentPerSecond'], 0)}/s)"),
        (
            "latency p50 / p95 / p99 ms",
            lambda r: f"{fmt(lat(r)['p50'])} / {fmt(lat(r)['p95'])} / {fmt(lat(r)['p99'])}",
        ),
        ("latency max ms", lambda r: fmt(lat(r)["max"])),
        ("delivered", lambda r: f"{fmt(100 * (r['delivered']['fraction'] or 0), 2)}%"),
        ("converged", lambda r: yes(r["converged"])),
        (
            "in the database",
            lambda r: (
                f"{fmt(r['stored']['stored_markers'])}/{fmt(r['sent'])},"
                f" {r['stored']['equal']}/{r['stored']['documents']} equal"
                if r.get("stored")
                else "(in memory)"
            ),
        ),
        ("server CPU / edit", cpu_cell("server")),
        ("PostgreSQL CPU / edit", cpu_cell("postgres")),
        ("Redis CPU / edit", cpu_cell("redis")),
        ("server peak RSS", lambda r: f"{fmt(r['server_peak_rss_mb'], 0)} MB"),
        ("load generators", loadgen_cell),
        (
            "other load on the machine",
            lambda r: f"{fmt((r.get('cpu') or {}).get('other_cores'), 2)} cores",
        ),
        ("commits: batches, updates each", commits_cell),
        ("  commit ms: mean, p50, p99 at most", commit_times_cell),
        ("gap heals, layer errors", heals_cell),
        ("client errors", lambda r: errors_text(r["errors"])),
        ("server warnings", lambda r: fmt(r["server_log"]["warnings_errors"])),
    ]
    two = (results.get("project") or {}).get("two_processes") or {}
    if "crossingLatencyMs" in two:
        rows.insert(
            3,
            (
                "  of which across processes p50 / p99",
                lambda r: (
                    f"{fmt(r['crossingLatencyMs']['p50'])} / {fmt(r['crossingLatencyMs']['p99'])}"
                    f" ({fmt(r['crossingLatencyMs']['count'])})"
                    if r.get("crossingLatencyMs")
                    else "-"
                ),
            ),
        )
    if any("awarenessLatencyMs" in r for r in results.values()):
        rows.insert(
            3,
            (
                "caret latency p50 / p99 ms",
                lambda r: (
                    f"{fmt(r['awarenessLatencyMs']['p50'])} / {fmt(r['awarenessLatencyMs']['p99'])}"
                    if r.get("awarenessLatencyMs")
                    else "-"
                ),
            ),
        )
    side_by_side(results, rows)
    ratios_line(
        results,
        [
            ("p50", lambda r: r["latencyMs"]["p50"]),
            ("p99", lambda r: r["latencyMs"]["p99"]),
            ("server CPU/edit", lambda r: per_edit_ms(r, "server")),
            ("server + PostgreSQL CPU/edit", with_database_ms),
        ],
    )
    if two:
        print("  the project on two processes (half of each document's clients on each):")
        side_by_side({"project": two}, rows)


# What herd and ingest (one burst, not edits per second) report about the machinery.
ONE_OFF_ROWS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("server CPU", lambda r: f"{fmt((r.get('cpu') or {}).get('server_cpu_s'), 2)} s"),
    ("PostgreSQL CPU", lambda r: f"{fmt((r.get('cpu') or {}).get('postgres_cpu_s'), 2)} s"),
    ("server peak RSS", lambda r: f"{fmt(r['server_peak_rss_mb'], 0)} MB"),
    ("load generator", loadgen_cell),
    ("client errors", lambda r: errors_text(r["errors"])),
]


def print_herd(results: dict[str, dict[str, Any]]) -> None:
    side_by_side(
        results,
        [
            ("all synced", lambda r: f"{fmt(r['allSyncedMs'])} ms"),
            (
                "each synced p50 / p99 ms",
                lambda r: f"{fmt(r['syncedMs']['p50'])} / {fmt(r['syncedMs']['p99'])}",
            ),
            (
                "each socket open p50 / p99 ms",
                lambda r: f"{fmt(r['openedMs']['p50'])} / {fmt(r['openedMs']['p99'])}",
            ),
            ("synced, converged", lambda r: f"{r['synced']}/{r['clients']}, {yes(r['converged'])}"),
            ("caret frames received", lambda r: fmt(r.get("awarenessFrames"))),
            *ONE_OFF_ROWS,
        ],
    )
    ratios_line(results, [("all synced", lambda r: r["allSyncedMs"])])


def print_ingest(results: dict[str, dict[str, Any]]) -> None:
    side_by_side(
        results,
        [
            ("typed in", lambda r: f"{fmt(r['typedMs'])} ms"),
            ("a fresh client holds all after", lambda r: f"{fmt(r['holdsAllMs'])} ms"),
            ("updates/s", lambda r: fmt(r["updatesPerSecond"], 0)),
            (
                "in the database",
                lambda r: (
                    f"{fmt(r['stored']['text_length'])} chars" if r.get("stored") else "(in memory)"
                ),
            ),
            *ONE_OFF_ROWS,
        ],
    )
    ratios_line(results, [("updates/s", lambda r: r["updatesPerSecond"])])


def row(label: str, value: str) -> None:
    print(f"  {label:<30} {value}")


def print_cold_open(results: dict[str, dict[str, Any]]) -> None:
    result = results["project"]
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


PRINTERS: dict[str, Callable[[dict[str, dict[str, Any]]], None]] = {
    **dict.fromkeys(EDIT_SCENARIOS, print_edit),
    "herd": print_herd,
    "ingest": print_ingest,
    "cold-open": print_cold_open,
}


def print_scenario(name: str, results: dict[str, dict[str, Any]], bars: dict[str, bool]) -> None:
    print()
    title = next((r["title"] for r in results.values() if "title" in r), "")
    print(f"== {name}) {title} ==")
    for kind, r in results.items():
        if "error" in r:
            print(f"  {kind} could not run: {r['error']}")
    ok = {k: r for k, r in results.items() if "error" not in r}
    if ok:
        PRINTERS[name](ok)
    project = ok.get("project", {})
    for label, r in (("", project), (" (two processes)", project.get("two_processes") or {})):
        for i, top in enumerate(r.get("py_spy") or []):
            print(f"  py-spy, project server {i}{label}: % of samples own / anywhere in the stack")
            for frame, own, anywhere in top:
                print(f"    {own:5.1f} {anywhere:5.1f}  {frame[:150]}")
        for i, stages in enumerate(r.get("py_spy_stages") or []):
            print(f"  keystroke stages, project server {i}{label}: % of samples")
            print("    " + ", ".join(f"{stage} {share:.0f}%" for stage, share in stages))
    for kind, r in ok.items():
        for line in r.get("server_log", {}).get("first_problems", [])[:4]:
            print(f"  {kind} log: {line[:200]}")
    if (line := rounds_line(name, ok)) is not None:
        print(line)
    if bars:
        print("  bar: " + ", ".join(f"{'PASS' if v else 'MISS'} {k}" for k, v in bars.items()))
    sys.stdout.flush()


ROUNDS_FIGURE = {"herd": "all synced ms", "ingest": "updates/s", "cold-open": "open ms"}


def rounds_line(name: str, results: dict[str, dict[str, Any]]) -> str | None:
    """Each round's figure per server (`--rounds`, bench/rounds.py); None after one round."""
    parts = []
    for kind, r in results.items():
        values = r.get("rounds") or []
        if len(values) > 1:
            parts.append(
                f"{kind} " + " / ".join(fmt(v) if v is not None else "error" for v in values)
            )
    if not parts:
        return None
    figure = ROUNDS_FIGURE.get(name, "p99 ms")
    return f"  rounds ({figure}; the median round is reported): " + "; ".join(parts)


def headline(name: str, r: dict[str, Any]) -> str:
    """One scenario's figure of merit for one server, for the summary."""
    if "error" in r:
        return "error"
    if name in EDIT_SCENARIOS:
        lat = r["latencyMs"]
        return (
            f"{fmt(lat['p50'])}/{fmt(lat['p99'])} ms, {fmt(per_edit_ms(r, 'server'), 3)}"
            f" ms CPU/edit, {fmt(100 * (r['delivered']['fraction'] or 0), 1)}%"
        )
    if name == "herd":
        return f"{fmt(r['allSyncedMs'], 0)} ms"
    if name == "ingest":
        return f"{fmt(r['updatesPerSecond'], 0)}/s"
    if name == "cold-open":
        return (
            f"{fmt(r['uncompacted']['median_open_to_sync_ms'])} ms uncompacted,"
            f" {fmt(r['compacted']['median_open_to_sync_ms'])} ms compacted"
        )
    return ""


def print_summary(scenarios: dict[str, Any], bars: dict[str, dict[str, bool]]) -> None:
    print()
    print(
        "== summary (edit scenarios: p50/p99 latency, server CPU per delivered edit, delivered) =="
    )
    rows = []
    for name, results in scenarios.items():
        verdict = (
            "PASS"
            if all(bars[name].values())
            else "MISS " + ", ".join(k for k, v in bars[name].items() if not v)
        )
        rows.append(
            [name, *(headline(name, results[k]) if k in results else "-" for k in KINDS), verdict]
        )
        two = (results.get("project") or {}).get("two_processes")
        if two:
            rows.append([f"{name} (2 processes)", headline(name, two), "", "", ""])
    table(["", *KINDS, "bar"], rows)


def print_browser(figures: dict[str, Any]) -> None:
    print()
    print("== browser: keydown in one page to the character in the other (Chromium) ==")
    if "error" in figures:
        print(f"  could not run: {figures['error']}")
        return
    for key, label in (("dom", "keydown -> DOM updated"), ("frame", "keydown -> next frame")):
        f = figures[key]
        row(label, f"p50 {fmt(f['p50'])} / p95 {fmt(f['p95'])} / max {fmt(f['max'])} ms")
    row("keys, converged", f"{figures['keys']} keys, {yes(figures['converged'])}")
