"""Several rounds of one scenario, and the round that stands for them.

On a shared 2-core machine the same scenario at the same commit has measured
2x apart from one run to the next, the reference servers' figures too, so one
run's ratio can be noise. With `--rounds N` every server runs the scenario N
times, the servers taking turns (their order rotated each round, so none is
always first after an idle pause), and each server is reported by its median
round: a whole run, so its figures stay consistent with each other, picked by
the figure the bars are most sensitive to. Every round's figure is printed
beside it, and the JSON keeps every round.
"""

from __future__ import annotations

from typing import Any

from bench.report import EDIT_SCENARIOS


def merit(name: str, result: dict[str, Any]) -> float | None:
    """The figure a round is ranked by: p99 latency for edit loads (scale: one process's),
    the time until all are synced for the herd, updates/s for the ingest."""
    if "error" in result:
        return None
    if name in EDIT_SCENARIOS:
        value = (result.get("latencyMs") or {}).get("p99")
    elif name == "herd":
        value = result.get("allSyncedMs")
    elif name == "ingest":
        value = result.get("updatesPerSecond")
    elif name == "cold-open":
        value = (result.get("uncompacted") or {}).get("median_open_to_sync_ms")
    else:
        value = None
    return None if value is None else float(value)


def turns(kinds: list[str], round_index: int) -> list[str]:
    """The servers' order in one round: rotated by one each round."""
    shift = round_index % len(kinds) if kinds else 0
    return kinds[shift:] + kinds[:shift]


def median_round(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round that stands for `runs`: the median by `merit` (the lower one of an even
    count); a round that could not run only when every round failed. The result gets
    `rounds`, each round's figure in the order they ran."""
    ranked = [(value, i) for i, r in enumerate(runs) if (value := merit(name, r)) is not None]
    if ranked:
        ranked.sort()
        chosen = dict(runs[ranked[(len(ranked) - 1) // 2][1]])
    else:
        chosen = dict(runs[-1])
    chosen["rounds"] = [merit(name, r) for r in runs]
    return chosen
