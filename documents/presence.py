"""Awareness of one document in one process: who is here, and who owns which client id.

Pure bookkeeping, no I/O: the room feeds it frames and sends what it returns.
Owners are local connections (any hashable object) or other processes (their
room channel name). A state is accepted only from the owner of its client id
and only when its clock is newer, so re-sent states die here instead of
bouncing between every client. The `user` field is always the server's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from documents.protocol import AwarenessEntry


@dataclass(slots=True)
class _Held:
    clock: int
    state: Any
    owner: object


class Presence:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._states: dict[int, _Held] = {}
        self._heard: dict[str, float] = {}  # remote origin -> last time heard
        self._clock = clock
        self.dropped = 0

    def __len__(self) -> int:
        return sum(1 for held in self._states.values() if held.state is not None)

    def apply(
        self, owner: object, entries: Iterable[AwarenessEntry], user: dict[str, Any] | None
    ) -> list[AwarenessEntry]:
        """Take the owner's entries; return those that changed anything.

        `user` is the identity to stamp on local states; None for entries
        relayed by another process, which stamped them already.
        """
        changed = []
        for entry in entries:
            held = self._states.get(entry.client_id)
            if held is not None and held.owner != owner and held.state is not None:
                self.dropped += 1  # someone else's id: a spoof or a stale echo
                continue
            state = entry.state
            if held is not None and held.owner == owner:
                newer = entry.clock > held.clock
                removes = entry.clock == held.clock and state is None and held.state is not None
                if not (newer or removes):
                    continue
            if state is not None:
                if not isinstance(state, dict):
                    self.dropped += 1
                    continue
                if user is not None:
                    state = {**state, "user": user}
            elif held is None:
                continue  # removal of a state we never had
            self._states[entry.client_id] = _Held(entry.clock, state, owner)
            changed.append(AwarenessEntry(entry.client_id, entry.clock, state))
        return changed

    def remove_owner(self, owner: object) -> list[AwarenessEntry]:
        """Forget every id the owner holds; return the removals to announce."""
        gone = []
        for client_id, held in list(self._states.items()):
            if held.owner != owner:
                continue
            del self._states[client_id]
            if held.state is not None:
                gone.append(AwarenessEntry(client_id, held.clock + 1, None))
        if isinstance(owner, str):
            self._heard.pop(owner, None)
        return gone

    def owned_by(self, owner: object) -> list[AwarenessEntry]:
        """The live states the owner holds."""
        return [
            AwarenessEntry(client_id, held.clock, held.state)
            for client_id, held in self._states.items()
            if held.owner == owner and held.state is not None
        ]

    def snapshot(self, local_only: bool = False) -> list[AwarenessEntry]:
        """Every live state (for a newcomer), or only those of local connections."""
        return [
            AwarenessEntry(client_id, held.clock, held.state)
            for client_id, held in self._states.items()
            if held.state is not None and not (local_only and isinstance(held.owner, str))
        ]

    def users(self, owner_filter: Callable[[object], bool] | None = None) -> list[dict[str, Any]]:
        """Distinct users present, by their server-stamped identity."""
        seen: dict[Any, dict[str, Any]] = {}
        for held in self._states.values():
            if held.state is None or (owner_filter and not owner_filter(held.owner)):
                continue
            user = held.state.get("user")
            if isinstance(user, dict) and "id" in user:
                seen.setdefault(user["id"], user)
        return list(seen.values())

    def heard_from(self, origin: str) -> bool:
        """Another process is alive; True if it was unknown (or had been expired)."""
        new = origin not in self._heard
        self._heard[origin] = self._clock()
        return new

    def expire(self, max_silence: float) -> list[AwarenessEntry]:
        """Forget the users of processes silent for longer than `max_silence`."""
        now = self._clock()
        gone: list[AwarenessEntry] = []
        for origin, heard in list(self._heard.items()):
            if now - heard > max_silence:
                gone.extend(self.remove_owner(origin))
                self._heard.pop(origin, None)
        return gone
