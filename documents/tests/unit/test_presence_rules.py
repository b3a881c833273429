"""The pure awareness bookkeeping: clocks, ownership, departures, dead processes."""

from __future__ import annotations

from documents.presence.rules import TOMBSTONE_SECONDS, Listening, Presence
from documents.realtime import protocol
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


# -- silence in listening time (a loop behind is not a peer dead) ----------------

BEAT = 0.5


class Beating:
    """A room's heartbeats every BEAT; each comes back `echo_after` later (None: never)."""

    def __init__(self, clock: Clock, listening: Listening, echo_after: float | None) -> None:
        self.clock, self.listening, self.echo_after = clock, listening, echo_after
        self.in_flight: list[float] = []

    def run(self, beats: int) -> None:
        for _ in range(beats):
            self.clock.now += BEAT
            self.listening.beat()
            self.listening.sent(self.clock.now)
            self.in_flight.append(self.clock.now)
            while (
                self.echo_after is not None
                and self.in_flight
                and self.in_flight[0] + self.echo_after <= self.clock.now
            ):
                self.listening.echoed(self.in_flight.pop(0))


def test_a_listen_loop_seconds_behind_expires_nobody_it_still_hears():
    clock = Clock()
    presence = Presence(clock)
    presence.heard_from("room-a")
    presence.apply("room-a", [AwarenessEntry(7, 1, {"user": ALICE})], None)
    # A backlog grows past the 1.75 s expiry: nothing of ours comes back for
    # 3 s, and the loop works through messages room-a sent 3 s ago.
    Beating(clock, presence.listening, echo_after=None).run(6)
    presence.listening.heard(clock.now - 3.0)
    assert presence.listening.lag() >= 2.5
    assert presence.expire(1.75) == ([], [])
    assert presence.peers(1.75) == ["room-a"]
    assert not presence.listening.lost(3.0, 6)


def test_a_peer_silent_while_our_own_heartbeats_come_back_is_dead():
    clock = Clock()
    presence = Presence(clock)
    presence.heard_from("room-a")
    presence.apply("room-a", [AwarenessEntry(7, 1, {"user": ALICE})], None)
    # A second behind, steadily: the silence is judged a second later than by
    # the wall clock, and then it is judged.
    beating = Beating(clock, presence.listening, echo_after=1.0)
    beating.run(5)
    assert presence.listening.lag() == 1.0
    assert presence.expire(1.75) == ([], [])
    beating.run(1)
    assert presence.expire(1.75) == (["room-a"], [AwarenessEntry(7, 2, None)])


def test_own_heartbeats_lost_while_others_arrive_means_the_membership_is_gone():
    clock = Clock()
    listening = Listening(clock)
    beating = Beating(clock, listening, echo_after=None)
    for _ in range(8):  # 4 s: nothing of ours back, a peer's direct messages fresh
        beating.run(1)
        listening.heard(clock.now)
    assert listening.lost(3.0, 6)


def test_own_heartbeats_late_behind_a_backlog_are_not_a_lost_membership():
    clock = Clock()
    listening = Listening(clock)
    beating = Beating(clock, listening, echo_after=None)
    for _ in range(10):  # 5 s: the loop works through messages sent 4 s ago
        beating.run(1)
        listening.heard(clock.now - 4.0)
    assert not listening.lost(3.0, 6)
    # Then it catches up with its own heartbeat: the round trip is measured.
    listening.echoed(clock.now - 4.0)
    assert listening.lag() == 4.0


def test_a_silent_layer_is_lost_but_a_stalled_loop_is_not():
    clock = Clock()
    listening = Listening(clock)
    beating = Beating(clock, listening, echo_after=None)
    beating.run(4)  # 2 s without hearing anything
    assert not listening.lost(3.0, 6)
    beating.run(4)  # 4 s
    assert listening.lost(3.0, 6)
    # A loop stalled for seconds (the CPU taken) by its work hears nothing
    # for as long, then everything at once: at its next beat nothing is lost.
    listening.reset()
    clock.now += 3.5
    listening.heard(clock.now - 3.5)
    beating.run(1)
    assert not listening.lost(3.0, 6)


def test_nobody_expires_while_the_layer_is_down_and_the_dead_do_after_the_rejoin():
    clock = Clock()
    presence = Presence(clock)
    presence.heard_from("room-a")
    presence.heard_from("room-b")
    Beating(clock, presence.listening, echo_after=0.0).run(2)
    presence.listening.interrupted()  # a send failed: no heartbeats until the rejoin
    clock.now += 3.0
    assert presence.expire(1.75) == ([], [])
    presence.rejoined()
    beating = Beating(clock, presence.listening, echo_after=0.0)
    beating.run(1)
    presence.heard_from("room-a")  # answers our hello; room-b died meanwhile
    assert presence.expire(1.75) == ([], [])
    beating.run(3)
    assert presence.listening.lag() == 0.0
    assert presence.expire(1.75) == (["room-b"], [])
    assert presence.peers(1.75) == ["room-a"]


# -- reconnects (y-protocols ignores clocks it has seen) -------------------------


def stamped(client_id: int, clock: int, user: dict, anchor: int = 0) -> AwarenessEntry:
    return AwarenessEntry(client_id, clock, {"cursor": {"anchor": anchor}, "user": user})


def test_a_reconnect_after_its_tombstone_comes_back_with_a_clock_everyone_takes():
    presence = Presence()
    old_socket, new_socket = object(), object()
    presence.apply(old_socket, [caret(7, 3)], ALICE)
    assert presence.remove_owner(old_socket) == [AwarenessEntry(7, 4, None)]  # others hold 4
    # The stock client re-announces with the clock it had.
    assert presence.is_news(7, 3, False, new_socket, ALICE["id"])
    rejoined: list[int] = []
    assert presence.apply(new_socket, [caret(7, 3)], ALICE, rejoined) == [stamped(7, 5, ALICE)]
    assert rejoined == [7]
    # Its echo of our clock is the acknowledgement, not a change.
    assert presence.apply(new_socket, [stamped(7, 5, ALICE)], ALICE) == []
    assert not presence.is_news(7, 5, False, new_socket, ALICE["id"])
    # And its departure is announced above everything given out.
    assert presence.remove_owner(new_socket) == [AwarenessEntry(7, 6, None)]


def test_a_reconnect_before_the_old_socket_closed_takes_the_id_over():
    presence = Presence()
    old_socket, new_socket = object(), object()
    presence.apply(old_socket, [caret(7, 3)], ALICE)
    rejoined: list[int] = []
    assert presence.apply(new_socket, [caret(7, 3)], ALICE, rejoined) == [stamped(7, 4, ALICE)]
    assert rejoined == [7]
    assert presence.remove_owner(old_socket) == []  # the late close removes nothing


def test_role_change_reconnect_is_a_reconnect_too():
    # The server ends the socket itself (leave, then close): same tombstone.
    presence = Presence()
    before, after = object(), object()
    presence.apply(before, [caret(7, 8)], ALICE)
    presence.remove_owner(before)
    rejoined: list[int] = []
    [back] = presence.apply(after, [caret(7, 8)], ALICE, rejoined)
    assert back.clock == 10 and rejoined == [7]


def test_tombstones_still_stop_echoes_of_the_same_users_other_editors():
    presence = Presence()
    tab_one, tab_two = object(), object()
    presence.apply(tab_one, [caret(7, 3)], ALICE)
    presence.apply(tab_two, [caret(8, 1)], ALICE)
    presence.remove_owner(tab_one)
    # Tab two re-sends tab one's old state: it holds a live state of its own.
    rejoined: list[int] = []
    assert presence.apply(tab_two, [caret(7, 3)], ALICE, rejoined) == []
    assert rejoined == []
    assert presence.snapshot() == [stamped(8, 1, ALICE)]
    # Another user on a fresh socket cannot take the id either.
    assert presence.apply(object(), [caret(7, 3)], BOB, rejoined) == []
    # Nor can a process relaying it (it has no fresh socket to speak for).
    assert presence.apply("room-elsewhere", [stamped(7, 3, ALICE)], None, rejoined) == []


def test_restamping_moves_local_states_on_and_owners_adopt_the_clock():
    presence = Presence()
    bob, alice = object(), object()
    presence.apply(bob, [caret(8, 2)], BOB)
    presence.apply(alice, [caret(7, 3)], ALICE)
    presence.apply("room-elsewhere", [stamped(9, 4, ALICE)], None)
    restamped = presence.restamp_local(exclude=alice)
    assert restamped == [stamped(8, 3, BOB)]  # not alice's, not another process's
    # A newcomer that saw clock 2 takes 3; the old state at 2 is dead.
    assert presence.apply(bob, [caret(8, 2)], BOB) == []
    # Bob adopted 3 and echoes it: acknowledged, nothing to relay.
    assert presence.apply(bob, [stamped(8, 3, BOB)], BOB) == []
    # Bob's next change (clock 4) goes through as usual.
    assert presence.apply(bob, [caret(8, 4, anchor=5)], BOB) == [stamped(8, 4, BOB, anchor=5)]


def test_an_owners_change_that_crossed_the_restamp_is_taken():
    presence = Presence()
    bob = object()
    presence.apply(bob, [caret(8, 2)], BOB)
    presence.restamp_local()
    # Bob moved his caret (his clock 3) before our clock 3 reached him.
    assert presence.is_news(8, 3, False, bob, BOB["id"])
    assert presence.apply(bob, [caret(8, 3, anchor=9)], BOB) == [stamped(8, 4, BOB, anchor=9)]
    # He then takes 4 from us; his echo of it settles it.
    assert presence.apply(bob, [stamped(8, 4, BOB, anchor=9)], BOB) == []
    assert not presence.is_news(8, 4, False, bob, BOB["id"])


def test_a_relayed_removal_keeps_the_user_so_a_reconnect_elsewhere_can_take_it_back():
    presence = Presence()
    presence.apply("room-a", [stamped(7, 3, ALICE)], None)
    presence.apply("room-a", [AwarenessEntry(7, 4, None)], None)
    rejoined: list[int] = []
    [back] = presence.apply(object(), [caret(7, 3)], ALICE, rejoined)
    assert back.clock == 5 and rejoined == [7]


def test_a_clock_that_could_never_be_followed_is_ignored():
    presence = Presence()
    assert presence.apply(object(), [caret(7, 2**53 - 1)], ALICE) == []
    assert presence.apply("room-a", [stamped(7, 2**53 - 2, ALICE)], None) == []
    assert presence.snapshot() == []


def test_a_lone_surrogate_state_cannot_break_the_greeting():
    presence = Presence()
    presence.apply(object(), [AwarenessEntry(7, 1, {"name": "\ud800"})], ALICE)
    presence.apply(object(), [caret(8, 1)], BOB)
    payload = protocol.encode_awareness_entries(presence.snapshot())
    assert [e.client_id for e in protocol.decode_awareness(payload)] == [7, 8]


def test_a_held_state_is_written_once_and_every_frame_carries_the_same_bytes():
    """A newcomer's greeting holds everyone's state: each is encoded when it
    arrives, not again for every greeting, re-stamp or flush."""
    presence = Presence()
    alice, bob = object(), object()
    [changed] = presence.apply(alice, [caret(7, 1, anchor=3)], ALICE)
    presence.apply(bob, [caret(9, 1, anchor=5)], BOB)
    assert changed.encoded == protocol.encode_state(changed.state)
    greeting = protocol.encode_awareness_entries(presence.snapshot())
    fresh = [AwarenessEntry(e.client_id, e.clock, e.state) for e in presence.snapshot()]
    assert greeting == protocol.encode_awareness_entries(fresh)
    [restamped] = presence.restamp_local(exclude=bob)
    assert restamped.clock == 2 and restamped.encoded == changed.encoded
    [gone] = presence.remove_owner(alice)
    assert gone.state is None and gone.encoded is None
    decoded = protocol.decode_awareness(protocol.encode_awareness_entries([gone]))
    assert decoded == [AwarenessEntry(7, 3, None)]
