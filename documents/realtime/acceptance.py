"""Which of an editor's updates a room accepts, and what it stores of them.

The rules:

- An update is accepted only if it applies to the committed content plus the
  updates accepted before it, in submission order. `Room.doc` holds committed
  content only (a newcomer's step 2 is made from it), so updates are tried on
  a shadow: a second Doc, the committed content plus the accepted updates not
  yet applied to `doc`. A failed apply can leave a Doc half-changed: the
  shadow is then dropped and rebuilt (one copy of the document) before the
  next update.
- What is stored and relayed is the shadow's own encoding of what the update
  changed, not the bytes the editor sent: copies of content the document
  already holds are left out, so a load that merges the log cannot pick
  another version. An update that changes nothing is not stored.
- An update built on content not here yet waits, whole, in a per-socket stash,
  in order: a reconnecting editor sends edits typed since the server's step 1
  before its step 2 (the offline edits they build on), and refusing them would
  lose them. Structs set aside until what they build on arrives would be
  integrated differently (or not at all) by a load that merges the log, so
  such an update is never stored like that. The stash is retried after every
  change to the shadow; a socket whose updates still wait after STASH_SECONDS,
  or that stashes more than STASH_MAX_UPDATES, is refused.
- A step 1 while a socket has waiting updates raises OutOfSync: answering
  would tell the editor its waiting edits are saved.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pycrdt import Doc

from documents import conf
from documents.realtime.close_codes import CloseCode
from documents.storage import crdt, store, update_clocks

if TYPE_CHECKING:
    from documents.realtime.room import Connection

logger = logging.getLogger(__name__)

STASH_MAX_UPDATES = 1000  # per socket, waiting for what they build on


class InvalidUpdate(ValueError):
    """An update pycrdt cannot decode, or cannot apply to the document."""


class MissingDependencies(InvalidUpdate):
    """An update built on content that never arrived: nobody can apply it."""


class OutOfSync(Exception):
    """Answering now would acknowledge updates that still wait for what they build on."""


class Acceptance:
    """One room's shadow, its updates awaiting commit, and its stash.

    The room calls `accept` for an editor's (decodable) update and submits
    the change it returns; `pending`, `committed` and `failed` follow that
    change through the writer; `applied` keeps the shadow in step with what
    the room applies to `doc`. `submit` is the room's own way of submitting
    a change, used for stashed updates that become acceptable.
    """

    def __init__(
        self,
        document_id: UUID,
        committed_content: Callable[[], bytes],
        submit: Callable[[Connection, bytes], object],
    ) -> None:
        self.document_id = document_id
        self._committed_content = committed_content
        self._submit = submit
        # None means "rebuild it before the next update".
        self._shadow: Doc[Any] | None = None
        # The shadow's state vector as a dict, kept up to date without
        # reading the whole vector per keystroke (it has an entry for every
        # editor session that ever wrote); None: read it when next needed.
        self._have: dict[int, int] | None = None
        self._pending: dict[int, bytes] = {}  # by a token of our own
        self._committing: dict[int, int] = {}  # seq -> token, until `doc` has it
        self._tokens = itertools.count()
        self._stashed: dict[Connection, list[bytes]] = {}
        self._stash_timers: dict[Connection, asyncio.TimerHandle] = {}
        self._retrying = False
        self._stash_tasks: set[asyncio.Future[None]] = set()

    # -- an editor's update ---------------------------------------------------

    def accept(self, conn: Connection, update: bytes, *, exact: bool = False) -> bytes | None:
        """The change to store for `update`; None if it waits or changes nothing.

        `exact`: store only what the document lacks (a catch-up sync step 2
        repeats much of it); otherwise an update whose structs are all new is
        stored as it came. Raises InvalidUpdate if it cannot be applied,
        MissingDependencies if too many of the socket's updates wait already.
        """
        shadow = self.shadow()
        try:
            try:
                shape = update_clocks.shape(update)
            except (ValueError, IndexError, RecursionError) as exc:
                raise InvalidUpdate(f"cannot be read: {exc}") from exc
            have = self._clocks(shadow)
            with crdt.failures_as(lambda why: InvalidUpdate(f"cannot be applied: {why}")):
                change = self._apply(
                    shadow, update, shape, exact or not shape.plain or shape.overlaps(have)
                )
            if shape.integrates(have):
                shape.advance(have)
            else:
                self._have = have = update_clocks.clocks(shadow.get_state())
                if shape.sets_aside(have):
                    self._shadow = None
                    self._stash(conn, update)
                    return None
        except InvalidUpdate:
            self._shadow = None
            raise
        if change == store.EMPTY_UPDATE:
            return None  # the document held all of it already: nothing to store
        return change

    def _clocks(self, shadow: Doc[Any]) -> dict[int, int]:
        if self._have is None:
            self._have = update_clocks.clocks(shadow.get_state())
        return self._have

    @staticmethod
    def _apply(shadow: Doc[Any], update: bytes, shape: update_clocks.Shape, exact: bool) -> bytes:
        """Apply `update` to the shadow; the part of it that was new.

        Observing the transaction yields exactly the new part, but it tripled
        the cost of applying a keystroke. Unless `exact` (some of it may be
        known already, or it holds what only the Doc's own encoding may be
        trusted to normalise), every struct in it is new, so it is stored as it
        came; repeats of deletions in it cost a few bytes and change nothing on replay.
        """
        if exact:
            changes: list[bytes] = []
            subscription = shadow.observe(lambda event: changes.append(event.update))
            try:
                shadow.apply_update(update)
            finally:
                shadow.unobserve(subscription)
            return changes[0] if changes else store.EMPTY_UPDATE
        shadow.apply_update(update)
        return update if shape.ends or shape.deletes else store.EMPTY_UPDATE

    def has_waiting(self, conn: Connection) -> bool:
        """Whether updates of this socket wait for content it has not sent."""
        return bool(self._stashed.get(conn))

    def forget(self, conn: Connection) -> None:
        """The socket left: its waiting updates go with it."""
        self._drop_stash(conn)

    def close(self) -> None:
        """The room closed: no stash may expire into it later."""
        for conn in list(self._stash_timers):
            self._drop_stash(conn)
        self._stashed.clear()

    # -- an accepted change, through the writer --------------------------------

    def pending(self, change: bytes) -> int:
        """Hold a submitted change in the shadow until `doc` has it; its token."""
        token = next(self._tokens)
        self._pending[token] = change
        return token

    def committed(self, token: int, seq: int, last_seq: int) -> None:
        """The change was committed as `seq`; the room has delivered up to `last_seq`."""
        if seq <= last_seq:
            self._pending.pop(token, None)  # a heal brought it into `doc` already
        else:
            self._committing[seq] = token

    def failed(self, token: int) -> None:
        """The change will never be committed."""
        if self._pending.pop(token, None) is not None:
            self._shadow = None  # it holds an update that will never be committed

    # -- committed content reaching `doc` ---------------------------------------

    def applied(self, seq: int, update: bytes, ok: bool) -> None:
        """The room applied committed update `seq` to `doc` (`ok`: without failing).

        Keeps the shadow in step, then retries the stash. An empty update is
        a quarantined entry: nothing changed.
        """
        token = self._committing.pop(seq, None)
        if token is not None:
            self._pending.pop(token, None)  # ours: the shadow has it already
        if update == store.EMPTY_UPDATE:
            return
        if not ok:
            self._shadow = None  # `doc` changed in a way the shadow did not
        elif token is None and self._shadow is not None:
            try:
                self._shadow.apply_update(update)
            except BaseException as exc:
                if not crdt.is_crdt_failure(exc):
                    raise
                self._shadow = None
            else:
                self._advance_clocks(update)
        self.retry()

    def _advance_clocks(self, update: bytes) -> None:
        """Keep `_have` in step with an update the shadow took from elsewhere."""
        if self._have is None:
            return
        try:
            shape = update_clocks.shape(update)
        except (ValueError, IndexError, RecursionError):
            self._have = None
            return
        if shape.integrates(self._have):
            shape.advance(self._have)
        else:
            self._have = None

    def reset_after_snapshot(self, last_seq: int) -> None:
        """`doc` merged a snapshot up to `last_seq`: what it covers is no longer pending."""
        self._shadow = None  # rare: rebuilt at the next update
        for seq in [seq for seq in self._committing if seq <= last_seq]:
            self._pending.pop(self._committing.pop(seq), None)

    # -- the shadow -------------------------------------------------------------

    def shadow(self) -> Doc[Any]:
        """The shadow, rebuilt (one copy of the document) after anything went wrong."""
        if self._shadow is not None:
            return self._shadow
        left_out: set[int] = set()
        while True:
            shadow: Doc[Any] = Doc()
            shadow.apply_update(self._committed_content())
            for token, update in self._pending.items():
                if token in left_out:
                    continue
                try:
                    shadow.apply_update(update)
                except BaseException as exc:
                    if not crdt.is_crdt_failure(exc):
                        raise
                    # Accepted against content that has changed since (an
                    # update from another process came first). It is still
                    # committed; a load quarantines it if it never applies.
                    logger.warning(
                        "room %s: an update awaiting commit no longer applies: %s",
                        self.document_id,
                        crdt.describe(exc),
                    )
                    left_out.add(token)
                    break
            else:
                self._shadow = shadow
                self._have = None
                return shadow

    # -- the stash --------------------------------------------------------------

    def retry(self) -> None:
        """Try the waiting updates again: what they build on may have arrived."""
        if not self._stashed or self._retrying:
            return
        self._retrying = True
        try:
            progress = True
            while progress:
                progress = False
                for conn, waiting in list(self._stashed.items()):
                    while waiting:
                        shadow = self.shadow()
                        update = waiting[0]
                        try:
                            shape = update_clocks.shape(update)
                            with crdt.failures_as(InvalidUpdate):
                                change = self._apply(shadow, update, shape, exact=True)
                            self._have = None  # rare: read the vector again when next needed
                            still = shape.sets_aside(update_clocks.clocks(shadow.get_state()))
                        except (InvalidUpdate, ValueError, IndexError, RecursionError):
                            self._shadow = None
                            logger.warning("room %s dropped a waiting update", self.document_id)
                            waiting.pop(0)
                            continue
                        if still:
                            self._shadow = None
                            break
                        waiting.pop(0)
                        progress = True
                        if change != store.EMPTY_UPDATE:
                            self._submit(conn, change)
                    if not waiting:
                        self._drop_stash(conn)
        finally:
            self._retrying = False

    def _stash(self, conn: Connection, update: bytes) -> None:
        waiting = self._stashed.setdefault(conn, [])
        if len(waiting) >= STASH_MAX_UPDATES:
            self._drop_stash(conn)
            raise MissingDependencies("too many updates wait for content that never came")
        waiting.append(update)
        if conn not in self._stash_timers:
            self._stash_timers[conn] = asyncio.get_running_loop().call_later(
                conf.get("STASH_SECONDS"), self._stash_expired, conn
            )

    def _stash_expired(self, conn: Connection) -> None:
        self._stash_timers.pop(conn, None)
        if self._stashed.pop(conn, None):
            task = asyncio.ensure_future(
                conn.reject(CloseCode.INVALID_UPDATE, "updates built on content that never came")
            )
            self._stash_tasks.add(task)
            task.add_done_callback(self._stash_tasks.discard)

    def _drop_stash(self, conn: Connection) -> None:
        self._stashed.pop(conn, None)
        timer = self._stash_timers.pop(conn, None)
        if timer is not None:
            timer.cancel()
