"""The bench's --rounds: which round stands for a server, and in what order servers take turns."""

from __future__ import annotations

from bench import rounds
from bench.report import rounds_line


def edit(p99: float, tag: str) -> dict:
    return {"latencyMs": {"p50": 1.0, "p99": p99}, "tag": tag}


def test_the_median_round_is_reported_whole_with_every_rounds_figure():
    runs = [edit(80.0, "first"), edit(30.0, "second"), edit(45.0, "third")]
    chosen = rounds.median_round("a", runs)
    assert chosen["tag"] == "third"  # its p50 and the rest come from the same run
    assert chosen["rounds"] == [80.0, 30.0, 45.0]
    assert "rounds" not in runs[2]  # the rounds kept for the JSON are not changed


def test_an_even_count_reports_the_lower_middle_round():
    runs = [edit(10.0, "a"), edit(40.0, "b"), edit(20.0, "c"), edit(30.0, "d")]
    assert rounds.median_round("b", runs)["tag"] == "c"


def test_failed_rounds_are_skipped_unless_every_round_failed():
    runs = [{"error": "boom"}, edit(50.0, "ok"), {"error": "again"}]
    chosen = rounds.median_round("c", runs)
    assert chosen["tag"] == "ok"
    assert chosen["rounds"] == [None, 50.0, None]
    assert "error" in rounds.median_round("c", [{"error": "x"}, {"error": "y"}])


def test_each_scenario_is_ranked_by_the_figure_its_bar_reads():
    assert rounds.merit("herd", {"allSyncedMs": 412}) == 412.0
    assert rounds.merit("ingest", {"updatesPerSecond": 13000.5}) == 13000.5
    assert rounds.merit("scale", {"latencyMs": {"p99": 99.0}, "two_processes": {}}) == 99.0
    assert rounds.merit("cold-open", {"uncompacted": {"median_open_to_sync_ms": 7}}) == 7.0


def test_servers_take_turns_first():
    kinds = ["project", "hocuspocus", "y-websocket"]
    assert [rounds.turns(kinds, i)[0] for i in range(4)] == [
        "project",
        "hocuspocus",
        "y-websocket",
        "project",
    ]
    assert sorted(rounds.turns(kinds, 1)) == sorted(kinds)


def test_the_rounds_line_appears_only_after_several_rounds():
    one = {"project": rounds.median_round("a", [edit(5.0, "x")])}
    assert rounds_line("a", one) is None
    many = {
        "project": rounds.median_round("a", [edit(5.0, "x"), edit(7.5, "y"), edit(6.0, "z")]),
        "hocuspocus": rounds.median_round("a", [edit(3.0, "x"), {"error": "e"}, edit(4.0, "z")]),
    }
    assert rounds_line("a", many) == (
        "  rounds (p99 ms; the median round is reported):"
        " project 5.0 / 7.5 / 6.0; hocuspocus 3.0 / error / 4.0"
    )
