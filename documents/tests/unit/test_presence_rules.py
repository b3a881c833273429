"""The pure awareness bookkeeping: clocks, ownership, departures, dead processes."""

from __future__ import annotations

from documents.presence.rules import TOMBSTONE_SECONDS, Presence
from documents.realtime.protocol import AwarenessEntry

ALICE = {"id": 1, "name": "Alice", "color": "#f00"}
BOB = {"id": 2, "name": "Bob", "color": "#00f"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def caret(client_id: int, clock: int, anchor: int = 0) -> AwarenessEntry:
    return AwarenessEntry(client_id, clock, {"cursor": {"anchor": anchor}})


def test_user_is_stamped_by_the_server_and_old_clocks_die():
    presence = Presence()
    alice = object()
    forged = AwarenessEntry(7, 1, {"user": {"id": 2, "name": "Bob"}, "cursor": None})
    [stored] = presence.apply(alice, [forged], ALICE)
    assert stored.state["user"] == ALICE
    assert presence.apply(alice, [caret(7, 1)], ALICE) == []  # same clock again
    assert presence.apply(alice, [caret(7, 0)], ALICE) == []  # older
    assert len(presence.apply(alice, [caret(7, 2)], ALICE)) == 1


def test_nobody_moves_or_removes_another_users_caret():
    presence = Presence()
    alice, mallory = object(), object()
    presence.apply(alice, [caret(7, 1)], ALICE)
    assert presence.apply(mallory, [caret(7, 5, anchor=99)], BOB) == []
    assert presence.apply(mallory, [AwarenessEntry(7, 5, None)], BOB) == []
    [held] = presence.snapshot()
    assert held.state["cursor"] == {"anchor": 0} and held.state["user"] == ALICE


def test_the_same_user_reconnecting_takes_over_its_client_id():
    presence = Presence()
    old_socket, new_socket = object(), object()
    presence.apply(old_socket, [caret(7, 1)], ALICE)
    assert len(presence.apply(new_socket, [caret(7, 2)], ALICE)) == 1
    # The old socket's departure no longer owns the id: nothing to announce.
    assert presence.remove_owner(old_socket) == []


def test_departure_leaves_a_tombstone_that_stale_resends_cannot_pass():
    clock = Clock()
    presence = Presence(clock)
    alice, echo = object(), "room-on-another-process"
    presence.apply(alice, [caret(7, 3)], ALICE)
    assert presence.remove_owner(alice) == [AwarenessEntry(7, 4, None)]
    assert presence.apply(echo, [caret(7, 3)], None) == []
    assert presence.snapshot() == []
    clock.now += TOMBSTONE_SECONDS + 1
    presence.expire(max_silence=2.0)
    assert presence.is_news(7, 1, is_removal=False)  # tombstone forgotten


def test_a_silent_process_is_presumed_dead_and_its_users_removed():
    clock = Clock()
    presence = Presence(clock)
    presence.heard_from("room-a")
    presence.heard_from("room-b")
    presence.apply("room-a", [AwarenessEntry(7, 1, {"user": ALICE})], None)
    presence.apply("room-b", [AwarenessEntry(8, 1, {"user": BOB})], None)
    clock.now += 1.5
    presence.heard_from("room-b")
    clock.now += 1.0
    assert presence.expire(2.0) == (["room-a"], [AwarenessEntry(7, 2, None)])
    assert presence.peers(2.0) == ["room-b"]
    assert [entry.client_id for entry in presence.snapshot()] == [8]
    # Alive after all: its states are accepted again, not blocked by a tombstone.
    assert presence.heard_from("room-a") is True
    assert len(presence.apply("room-a", [AwarenessEntry(7, 1, {"user": ALICE})], None)) == 1
