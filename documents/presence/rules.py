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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from documents.realtime.protocol import MAX_AWARENESS_CLOCK, AwarenessEntry

TOMBSTONE_SECONDS = 60.0  # longer than any re-send of an old state takes to arrive


@dataclass(slots=True)
class _Held:
    clock: int
    state: Any  # None once the client has left
    owner: object
    user_id: Any
    since: float
    restamped: bool = False  # the server moved the clock; the owner has not echoed it yet


def _user_id(state: Any, user: dict[str, Any] | None) -> Any:
    if user is not None:
        return user.get("id")
    if isinstance(state, dict) and isinstance(state.get("user"), dict):
        return state["user"].get("id")
    return None


class Presence:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._states: dict[int, _Held] = {}
        self._heard: dict[str, float] = {}  # remote origin -> last time heard
        self._clock = clock

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
            self._states[entry.client_id] = _Held(clock, state, owner, claimant, now, restamped)
            changed.append(AwarenessEntry(entry.client_id, clock, state))
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
            out.append(AwarenessEntry(client_id, held.clock, held.state))
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
            AwarenessEntry(client_id, held.clock, held.state)
            for client_id, held in self._states.items()
            if held.state is not None and not (local_only and isinstance(held.owner, str))
        ]

    def peers(self, max_silence: float) -> list[str]:
        """Other processes heard from within `max_silence`."""
        now = self._clock()
        return [origin for origin, heard in self._heard.items() if now - heard <= max_silence]

    def heard_from(self, origin: str) -> bool:
        """Another process is alive; True if it was unknown (or had been expired)."""
        new = origin not in self._heard
        self._heard[origin] = self._clock()
        return new

    def expire(self, max_silence: float) -> tuple[list[str], list[AwarenessEntry]]:
        """Forget processes silent for longer than `max_silence`, presumed dead, and
        tombstones old enough that no stale re-send is still on its way.

        Returns the dead processes' channels and the removals of their users.
        """
        now = self._clock()
        dead = [origin for origin, heard in self._heard.items() if now - heard > max_silence]
        gone: list[AwarenessEntry] = []
        for origin in dead:
            gone.extend(self.remove_owner(origin, tombstone=False))
        for client_id, held in list(self._states.items()):
            if held.state is None and now - held.since > TOMBSTONE_SECONDS:
                del self._states[client_id]
        return dead, gone
