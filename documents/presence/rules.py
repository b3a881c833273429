"""Awareness of one document in one process: who is here, and who owns which client id.

Pure bookkeeping, no I/O: the room feeds it frames and sends what it returns.
Owners are local connections (any object) or other processes (their room
channel name). The rules:

- A client id's clock only moves forward. Stock clients re-send every state
  they receive, so old states come back again and again; they die here
  instead of bouncing between every editor (or resurrecting someone who left).
- Only the owner of a client id may change it, or another owner acting for the
  same user (a reconnect, possibly through another process). Nobody can move
  or remove someone else's caret.
- The `user` field is always the server's identity of the owner.
- A departure leaves a tombstone one clock past the last state, so a stale
  re-send arriving later cannot bring the caret back.

Reconnects need two exceptions, because y-protocols' `applyAwarenessUpdate`
takes a state only with a clock above the one it last saw, and a stock
y-websocket client that loses its socket drops everyone's state but keeps
their clocks:

- A reconnecting client re-announces itself with the clock it had, which
  its tombstone (or its old, not yet closed socket) already passed. The same
  user, on a connection that holds no other live state, may take the id
  back; the server re-stamps it one past what it held, above anything any
  client saw, and everyone (its owner included) takes that clock.
- The reconnecting client ignores everyone else's state at the clocks it saw
  before it dropped. `restamp_local` moves each live local state one clock
  on, to be sent to every local editor; owners adopt the new clock as theirs.

A re-stamped state is marked until its owner echoes it back at that clock
(stock clients re-send what they receive). Until then an owner's change at
the same clock crossed the re-stamp in flight and is taken, one clock on
again, rather than lost.

Silence is judged in listening time, not wall time (`Listening`): a process
whose listen loop is seconds behind (a backlog, a busy CPU) hears everyone
late, and must not take that for their death, nor for the loss of its own
place in the group.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from documents.realtime.protocol import MAX_AWARENESS_CLOCK, AwarenessEntry, encode_state

TOMBSTONE_SECONDS = 60.0  # longer than any re-send of an old state takes to arrive
UNHEARD_KEPT = 64  # own heartbeats remembered while none comes back


class Listening:
    """How far behind a room's listen loop is, from its own heartbeats' round trips.

    Every heartbeat a room sends to its group comes back to it, after
    everything sent to it before. The loop is behind by the longer of the
    last round trip and the age of the oldest heartbeat still on its way:
    while it waits for one, it cannot have heard anything sent since.
    `position` (now minus that lag) is the time up to which the room has heard
    everyone; silences are measured there, so a backlog delays an expiry by
    its own length instead of causing one.

    A heartbeat that never comes back is told apart from one that is late by
    what the loop does meanwhile: it heard messages sent well after it (the
    layer carries others' messages but not ours: our place in the group is
    gone), or it heard nothing at all for several beats (the layer is silent).
    A loop that is behind is still working through older messages. The first
    test compares other processes' clocks with ours, so it allows `grace`.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._round_trip = 0.0
        self._unheard: deque[float] = deque(maxlen=UNHEARD_KEPT)
        self._newest_other = -float("inf")  # the latest send time heard from another process
        self._heard_any = False  # since the last beat
        self.quiet_beats = 0

    def now(self) -> float:
        return self._clock()

    def sent(self, at: float) -> None:
        """We sent a heartbeat stamped `at` to the group."""
        self._unheard.append(at)

    def interrupted(self) -> None:
        """The layer failed: from now until `reset` the room hears nobody, through
        no fault of theirs, so their silence is not counted meanwhile."""
        self._unheard.append(self._clock())

    def echoed(self, at: float) -> None:
        """Our heartbeat stamped `at` came back; older ones never will."""
        self._heard_any = True
        if not self._unheard or at < self._unheard[0]:
            return  # one given up on in `reset`
        self._round_trip = max(0.0, self._clock() - at)
        while self._unheard and self._unheard[0] <= at:
            self._unheard.popleft()

    def heard(self, sent_at: float | None) -> None:
        """The loop took another process's message (stamped `sent_at`, if it was)."""
        self._heard_any = True
        if sent_at is not None:
            self._newest_other = max(self._newest_other, sent_at)

    def beat(self) -> None:
        """One heartbeat interval passed: count it if the loop heard nothing at all."""
        self.quiet_beats = 0 if self._heard_any else self.quiet_beats + 1
        self._heard_any = False

    def lag(self) -> float:
        """Seconds the listen loop is behind: nothing sent since then has been heard yet."""
        waiting = self._clock() - self._unheard[0] if self._unheard else 0.0
        return max(self._round_trip, waiting)

    def position(self) -> float:
        return self._clock() - self.lag()

    def lost(self, grace: float, quiet_beats: int) -> bool:
        """Our heartbeats stopped coming back, and not because we are behind."""
        if not self._unheard or self._clock() - self._unheard[0] <= grace:
            return False
        return self._newest_other - self._unheard[0] > grace or self.quiet_beats >= quiet_beats

    def reset(self) -> None:
        """Rejoined after a failure: what was sent before is not coming back."""
        self._round_trip = 0.0
        self._unheard.clear()
        self._newest_other = -float("inf")
        self.quiet_beats = 0


@dataclass(slots=True)
class _Held:
    clock: int
    state: Any  # None once the client has left
    owner: object
    user_id: Any
    since: float
    restamped: bool = False  # the server moved the clock; the owner has not echoed it yet
    encoded: bytes | None = None  # the state as written in frames (None while it is gone)


def _user_id(state: Any, user: dict[str, Any] | None) -> Any:
    if user is not None:
        return user.get("id")
    if isinstance(state, dict) and isinstance(state.get("user"), dict):
        return state["user"].get("id")
    return None


class Presence:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, listening: Listening | None = None
    ) -> None:
        self._states: dict[int, _Held] = {}
        # remote origin -> when last heard, in listening time (`Listening.position`)
        self._heard: dict[str, float] = {}
        self._clock = clock
        self.listening = listening or Listening(clock)

    def apply(
        self,
        owner: object,
        entries: Iterable[AwarenessEntry],
        user: dict[str, Any] | None,
        rejoined: list[int] | None = None,
    ) -> list[AwarenessEntry]:
        """Take the owner's entries; return those that changed anything.

        `user` is the identity to stamp on local states; None for entries
        relayed by another process, which stamped them already. The ids a
        reconnecting connection took back are appended to `rejoined`.
        """
        changed = []
        now = self._clock()
        fresh: bool | None = None  # whether the owner holds no live state: asked once, lazily
        for entry in entries:
            state = entry.state
            if state is not None and not isinstance(state, dict):
                continue  # y-protocols states are objects or null
            if entry.clock > MAX_AWARENESS_CLOCK:
                continue  # its removal (clock + 1) could not be written: it would never leave
            claimant = _user_id(state, user)
            if state is not None and user is not None:
                state = {**state, "user": user}
            clock = entry.clock
            restamped = False
            held = self._states.get(entry.client_id)
            if held is not None:
                mine = held.owner == owner
                if not mine and (claimant is None or claimant != held.user_id):
                    continue  # someone else's client id
                newer = clock > held.clock
                removes = clock == held.clock and state is None and held.state is not None
                if not mine and state is not None and user is not None:
                    # Another connection of the same user: a reconnect, if it
                    # holds no live state of its own; otherwise its echo.
                    if fresh is None:
                        fresh = not self._holds_live(owner)
                    if fresh:
                        if rejoined is not None:
                            rejoined.append(entry.client_id)
                        if not newer:
                            clock, restamped = held.clock + 1, True
                    elif not newer:
                        continue  # a stale echo from another of the user's editors
                elif mine and held.restamped and clock == held.clock and state is not None:
                    if state == held.state:
                        held.restamped = False  # the owner has our clock now
                        continue
                    clock, restamped = held.clock + 1, True  # its change crossed our re-stamp
                elif not (newer or removes):
                    continue  # an old state coming round again
                if claimant is None:
                    claimant = held.user_id  # a relayed removal names no user
            elif state is None:
                continue  # the removal of a state we never had
            encoded = None if state is None else encode_state(state)
            self._states[entry.client_id] = _Held(
                clock, state, owner, claimant, now, restamped, encoded
            )
            changed.append(AwarenessEntry(entry.client_id, clock, state, encoded))
        return changed

    def _holds_live(self, owner: object) -> bool:
        return any(h.owner == owner and h.state is not None for h in self._states.values())

    def is_news(
        self,
        client_id: int,
        clock: int,
        is_removal: bool,
        owner: object = None,
        user_id: Any = None,
    ) -> bool:
        """Whether an entry could change anything; False for an old state coming round.

        With the sending `owner` (and its user's id, for a local connection)
        the answer also covers the exceptions `apply` makes for reconnects.
        """
        held = self._states.get(client_id)
        if held is None or clock > held.clock:
            return True
        if clock == held.clock and is_removal and held.state is not None:
            return True
        if is_removal or owner is None:
            return False
        if held.owner == owner:
            return held.restamped and clock == held.clock
        return user_id is not None and user_id == held.user_id

    def restamp_local(self, exclude: object = None) -> list[AwarenessEntry]:
        """Move every live state of a local connection one clock on; return them.

        For an editor that reconnected, which ignores the clocks it saw
        before. The owners must get them too, so that their next change is
        newer than the server's clock.
        """
        out = []
        for client_id, held in self._states.items():
            if held.state is None or isinstance(held.owner, str) or held.owner == exclude:
                continue
            if held.clock >= MAX_AWARENESS_CLOCK:
                continue
            held.clock += 1
            held.restamped = True
            out.append(AwarenessEntry(client_id, held.clock, held.state, held.encoded))
        return out

    def remove_owner(self, owner: object, *, tombstone: bool = True) -> list[AwarenessEntry]:
        """Forget every state the owner holds; return the removals to announce.

        Without a tombstone the ids are forgotten entirely, so the same states
        are accepted again if the owner turns out to be alive after all.
        """
        gone = []
        now = self._clock()
        for client_id, held in list(self._states.items()):
            if held.owner != owner:
                continue
            if held.state is not None:
                gone.append(AwarenessEntry(client_id, held.clock + 1, None))
            if tombstone:
                self._states[client_id] = _Held(held.clock + 1, None, owner, held.user_id, now)
            else:
                del self._states[client_id]
        if isinstance(owner, str):
            self._heard.pop(owner, None)
        return gone

    def snapshot(self, local_only: bool = False) -> list[AwarenessEntry]:
        """Every live state (for a newcomer), or only those of local connections."""
        return [
            AwarenessEntry(client_id, held.clock, held.state, held.encoded)
            for client_id, held in self._states.items()
            if held.state is not None and not (local_only and isinstance(held.owner, str))
        ]

    def peers(self, max_silence: float) -> list[str]:
        """Other processes heard from within `max_silence` of listening time."""
        now = self.listening.position()
        return [origin for origin, heard in self._heard.items() if now - heard <= max_silence]

    def rejoined(self) -> None:
        """The room rejoined its group after a failure: start listening afresh.

        Nobody was heard during the outage, through no fault of theirs: every
        known process gets `max_silence` from now to answer the room's hello.
        """
        self.listening.reset()
        now = self.listening.position()
        for origin in self._heard:
            self._heard[origin] = now

    def knows(self, origin: str) -> bool:
        """Whether `origin` is a process heard from and not expired since."""
        return origin in self._heard

    def heard_from(self, origin: str) -> bool:
        """Another process is alive; True if it was unknown (or had been expired)."""
        new = origin not in self._heard
        # Where the listen loop is, not the wall clock: the message may have
        # waited behind others, and the next one from there waits as long.
        self._heard[origin] = max(self._heard.get(origin, -float("inf")), self.listening.position())
        return new

    def expire(self, max_silence: float) -> tuple[list[str], list[AwarenessEntry]]:
        """Forget processes silent for longer than `max_silence` of listening time,
        presumed dead, and tombstones old enough that no stale re-send is still
        on its way.

        Returns the dead processes' channels and the removals of their users.
        """
        heard_up_to = self.listening.position()
        dead = [
            origin for origin, heard in self._heard.items() if heard_up_to - heard > max_silence
        ]
        now = self._clock()
        gone: list[AwarenessEntry] = []
        for origin in dead:
            gone.extend(self.remove_owner(origin, tombstone=False))
        for client_id, held in list(self._states.items()):
            if held.state is None and now - held.since > TOMBSTONE_SECONDS:
                del self._states[client_id]
        return dead, gone
