"""Persistence of the update log and snapshots: plain sync functions.

The log is append-only per document with gapless sequence numbers, assigned
under the document row's lock. A document's content is its newest snapshot
plus the log after it. Compaction folds the log into a new snapshot and only
deletes the folded rows once the snapshot is written and verified, in the same
transaction; a load that fails never writes anything.

An update in the log that does not apply to the content before it (it decoded,
so it was stored, but pycrdt cannot integrate it) would otherwise make every
later load fail. A load quarantines such an update instead: the row is marked,
kept for inspection and skipped by every load and compaction after that. A
snapshot that does not apply is never skipped: the load fails as a whole.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Length
from django.utils import timezone
from pycrdt import Doc, get_state, merge_updates

from documents import conf
from documents.models import Document, DocumentUpdate, Snapshot
from documents.storage import crdt, pg_arrays

logger = logging.getLogger(__name__)

EMPTY_UPDATE = crdt.EMPTY_UPDATE
LOAD_GROUP = 32  # updates merged before applying, on a cold load


class LoadError(RuntimeError):
    """The stored document could not be read back; nothing may be written over it."""


def _load_error(document_id: UUID) -> Callable[[str], LoadError]:
    return lambda why: LoadError(f"document {document_id} cannot be decoded: {why}")


@dataclass(frozen=True, slots=True)
class Loaded:
    update: bytes  # the whole document as one update
    last_seq: int
    snapshot_seq: int
    size: int  # stored bytes: snapshot plus log


@dataclass(frozen=True, slots=True)
class Pending:
    document_id: UUID
    data: bytes
    author_id: int | None


@dataclass(frozen=True, slots=True)
class Appended:
    seqs: list[int | None]  # per pending item; None when its document is gone
    compact: set[UUID]  # documents whose log has passed a compaction threshold


def merge(parts: list[bytes]) -> bytes:
    """Many updates as one, skipping empty ones."""
    parts = [p for p in parts if p != EMPTY_UPDATE]
    if not parts:
        return EMPTY_UPDATE
    # merge_updates is quadratic in the number of updates; merging in small
    # groups, then merging the results, keeps a long log linear.
    while len(parts) > 1:
        parts = [merge_updates(*parts[i : i + 64]) for i in range(0, len(parts), 64)]
    return parts[0]


@dataclass(frozen=True, slots=True)
class _Stored:
    parts: list[bytes]  # the snapshot (if any), then the log after it, in order
    seqs: list[int | None]  # per part: its log sequence, None for the snapshot
    last_seq: int
    snapshot_seq: int

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.parts)


def _read(document_id: UUID) -> _Stored:
    """The newest snapshot and the log after it, read consistently."""
    for _ in range(5):
        snapshot = (
            Snapshot.objects.filter(document_id=document_id)
            .order_by("-seq", "-id")
            .values_list("seq", "data")
            .first()
        )
        snapshot_seq, snapshot_data = (snapshot[0], bytes(snapshot[1])) if snapshot else (0, b"")
        rows = _log_after(document_id, snapshot_seq)
        # A compaction that committed between the two reads deleted rows we
        # expected; read again rather than return a document with a hole.
        if rows and (rows[0][0] != snapshot_seq + 1 or rows[-1][0] - rows[0][0] + 1 != len(rows)):
            continue
        log = [(seq, data) for seq, data in rows if data is not None]
        parts = ([snapshot_data] if snapshot_data else []) + [data for _, data in log]
        seqs: list[int | None] = ([None] if snapshot_data else []) + [seq for seq, _ in log]
        last_seq = rows[-1][0] if rows else snapshot_seq
        return _Stored(parts, seqs, last_seq, snapshot_seq)
    raise LoadError(f"document {document_id}: log kept changing under the reader")


# Quarantined rows come back without their data: their sequence numbers still
# count for the log having no holes.
_LOG_AFTER_SQL = (
    f"SELECT seq, CASE WHEN quarantined THEN NULL ELSE data END "
    f"FROM {DocumentUpdate._meta.db_table} "
    "WHERE document_id = %s AND seq > %s ORDER BY seq"
)


def _log_after(document_id: UUID, after_seq: int) -> list[tuple[int, bytes | None]]:
    """The log after `after_seq`, in order; data is None for a quarantined update.

    On PostgreSQL a binary cursor skips bytea's hex text and the ORM's
    per-row work: a 50,000-update log reads in about 30 ms instead of 50,
    which is a fifth of a cold open that compaction has not caught up with.
    """
    if connection.vendor != "postgresql":
        rows = DocumentUpdate.objects.filter(document_id=document_id, seq__gt=after_seq)
        return [
            (seq, None if quarantined else bytes(data))
            for seq, data, quarantined in rows.order_by("seq").values_list(
                "seq", "data", "quarantined"
            )
        ]
    connection.ensure_connection()
    # Django's own cursors bind parameters client-side, which rules out binary
    # results; a plain psycopg cursor on the same connection and transaction.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_LOG_AFTER_SQL, [document_id, after_seq], binary=True)
        return cursor.fetchall()


@dataclass(frozen=True, slots=True)
class LoadedDoc:
    doc: Doc[Any]
    last_seq: int
    snapshot_seq: int
    size: int


@dataclass(frozen=True, slots=True)
class _Built:
    doc: Doc[Any]
    chunks: list[bytes]  # what `doc` was built from, in order: merging them loses nothing
    stored: _Stored  # without the updates that were quarantined


def _failure(doc: Doc[Any], update: bytes) -> str | None:
    """Apply `update`; why it failed, or None. A failure may leave `doc` half-changed."""
    try:
        doc.apply_update(update)
    except BaseException as exc:
        if not crdt.is_crdt_failure(exc):
            raise
        return crdt.describe(exc)
    return None


def _merged(parts: list[bytes]) -> bytes | None:
    """The parts merged into one update; None when one of them gets in the way."""
    try:
        return merge_updates(*parts)
    except BaseException as exc:
        if not crdt.is_crdt_failure(exc):
            raise
        return None


def _replay(chunks: list[bytes]) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    with doc.transaction():
        for chunk in chunks:
            doc.apply_update(chunk)
    return doc


def _build(document_id: UUID, stored: _Stored) -> _Built:
    """The stored content as a Doc, quarantining log updates that do not apply.

    Merging small groups of updates and applying the groups is faster than
    either merging everything or applying every update alone. Only when a
    group fails are its updates applied one at a time, to find the bad ones.
    """
    groups = [
        (stored.parts[start : start + LOAD_GROUP], stored.seqs[start : start + LOAD_GROUP])
        for start in range(0, len(stored.parts), LOAD_GROUP)
    ]
    doc: Doc[Any] = Doc()
    chunks: list[bytes] = []
    try:
        with doc.transaction():
            for parts, _ in groups:
                merged = parts[0] if len(parts) == 1 else merge_updates(*parts)
                doc.apply_update(merged)
                chunks.append(merged)
        return _Built(doc, chunks, stored)
    except BaseException as exc:
        if not crdt.is_crdt_failure(exc):
            raise
    # Start again, keeping what applied: a failed update can leave a Doc
    # half-changed, so after every failure the Doc is rebuilt from the chunks
    # that applied cleanly (merged into one, so that rebuilds stay cheap).
    doc, chunks = Doc(), []
    bad: list[tuple[int, str]] = []
    for parts, seqs in groups:
        chunk = parts[0] if len(parts) == 1 else _merged(parts)
        if chunk is not None:
            if _failure(doc, chunk) is None:
                chunks.append(chunk)
                continue
            with crdt.failures_as(_load_error(document_id)):
                chunks = [merge(chunks)] if chunks else []
                doc = _replay(chunks)
        for part, seq in zip(parts, seqs, strict=True):
            why = _failure(doc, part)
            if why is None:
                chunks.append(part)
                continue
            if seq is None:
                raise LoadError(f"document {document_id}: its snapshot cannot be applied: {why}")
            bad.append((seq, why))
            with crdt.failures_as(_load_error(document_id)):
                chunks = [merge(chunks)] if chunks else []
                doc = _replay(chunks)
    _quarantine(document_id, bad)
    skipped = {seq for seq, _ in bad}
    keep = [index for index, seq in enumerate(stored.seqs) if seq not in skipped]
    stored = _Stored(
        [stored.parts[i] for i in keep],
        [stored.seqs[i] for i in keep],
        stored.last_seq,
        stored.snapshot_seq,
    )
    return _Built(doc, chunks, stored)


def _quarantine(document_id: UUID, bad: list[tuple[int, str]]) -> None:
    """Mark updates that do not apply, so that no load tries them again; never delete them."""
    for seq, why in bad:
        try:
            marked = DocumentUpdate.objects.filter(
                document_id=document_id, seq=seq, quarantined=False
            ).update(quarantined=True)
        except Exception:
            # The load itself stands: the update is skipped this time anyway.
            logger.warning(
                "document=%s update seq=%d could not be quarantined",
                document_id,
                seq,
                exc_info=True,
            )
            continue
        if marked:
            # Once per row: a quarantined row is never read again.
            logger.error(
                "quarantined update document=%s seq=%d: it cannot be applied: %s",
                document_id,
                seq,
                why,
            )


def load(document_id: UUID) -> Loaded:
    """The newest snapshot and the log after it, merged into one update.

    Built as a Doc first, as a room would, so that an update that does not
    apply is quarantined here too rather than merged into the content.
    """
    loaded, _ = _load_checked(document_id)
    return loaded


def _load_checked(document_id: UUID) -> tuple[Loaded, Doc[Any]]:
    built = _build(document_id, _read(document_id))
    with crdt.failures_as(_load_error(document_id)):
        merged = merge(built.chunks)
    stored = built.stored
    return Loaded(merged, stored.last_seq, stored.snapshot_seq, stored.size), built.doc


def load_doc(document_id: UUID) -> LoadedDoc:
    """The document as a pycrdt Doc, for a room to own from then on.

    The Doc is built in the caller's worker thread and handed over whole;
    nothing else ever touches it there.
    """
    built = _build(document_id, _read(document_id))
    stored = built.stored
    return LoadedDoc(built.doc, stored.last_seq, stored.snapshot_seq, stored.size)


def updates_after(document_id: UUID, after_seq: int) -> list[tuple[int, bytes]] | None:
    """Log entries after `after_seq` in order, or None if compaction folded some away.

    A quarantined entry comes back as the empty update: it still takes its
    place in the sequence, but adds nothing.
    """
    rows = _log_after(document_id, after_seq)
    if not rows:
        last = Document.objects.filter(pk=document_id).values_list("last_seq", flat=True).first()
        return [] if last is None or last <= after_seq else None
    if rows[0][0] != after_seq + 1:
        return None
    return [(seq, EMPTY_UPDATE if data is None else data) for seq, data in rows]


def append(batch: list[Pending]) -> Appended:
    """Append updates to their documents' logs in one transaction (group commit).

    On PostgreSQL one statement (`_append_postgresql`); elsewhere (the embedded
    SQLite default) the same through the ORM.
    """
    if connection.vendor == "postgresql":
        return _append_postgresql(batch)
    by_document: dict[UUID, list[int]] = defaultdict(list)
    for index, item in enumerate(batch):
        by_document[item.document_id].append(index)
    seqs: list[int | None] = [None] * len(batch)
    compact: set[UUID] = set()
    now = timezone.now()
    with transaction.atomic():
        # Locking in key order keeps two processes' batches from deadlocking.
        documents = list(
            Document.objects.select_for_update()
            .filter(pk__in=list(by_document))
            .order_by("pk")
            .only("id", "last_seq", "snapshot_seq", "log_bytes")
        )
        rows = []
        for document in documents:
            for index in by_document[document.id]:
                document.last_seq += 1
                document.log_bytes += len(batch[index].data)
                seqs[index] = document.last_seq
                rows.append(
                    DocumentUpdate(
                        document_id=document.id,
                        seq=document.last_seq,
                        data=batch[index].data,
                        author_id=batch[index].author_id,
                    )
                )
            document.updated_at = now
            if _due_for_compaction(document.last_seq, document.snapshot_seq, document.log_bytes):
                compact.add(document.id)
        DocumentUpdate.objects.bulk_create(rows)
        Document.objects.bulk_update(documents, ["last_seq", "log_bytes", "updated_at"])
    return Appended(seqs, compact)


def _due_for_compaction(last_seq: int, snapshot_seq: int, log_bytes: int) -> bool:
    long_log = last_seq - snapshot_seq >= conf.get("COMPACT_AFTER_UPDATES")
    return long_log or log_bytes >= conf.get("COMPACT_AFTER_BYTES")


# One statement, so one round trip and its own transaction: the documents are
# locked in key order (two processes' batches cannot deadlock), their counters
# advanced by the batch's updates, and the rows numbered on from each
# document's last sequence number, in batch order. A deleted document has no
# row to lock: its updates are not stored and it is not returned.
_APPEND_SQL = """
WITH items AS (
    SELECT d, b, a, o
    FROM unnest(%(documents)s::uuid[], %(data)s::bytea[], %(authors)s::bigint[])
        WITH ORDINALITY AS t(d, b, a, o)
), counts AS (
    SELECT d, count(*) AS n, sum(octet_length(b)) AS bytes FROM items GROUP BY d
), locked AS MATERIALIZED (
    SELECT doc.id FROM {documents} doc
    WHERE doc.id IN (SELECT d FROM counts)
    ORDER BY doc.id
    FOR UPDATE
), bumped AS (
    UPDATE {documents} doc
    SET last_seq = doc.last_seq + c.n, log_bytes = doc.log_bytes + c.bytes, updated_at = %(now)s
    FROM counts c JOIN locked l ON l.id = c.d
    WHERE doc.id = c.d
    RETURNING doc.id, doc.last_seq - c.n AS base, doc.last_seq, doc.snapshot_seq, doc.log_bytes
), inserted AS (
    INSERT INTO {updates} (document_id, seq, data, author_id, created_at)
    SELECT i.d, bumped.base + row_number() OVER (PARTITION BY i.d ORDER BY i.o), i.b, i.a, %(now)s
    FROM items i JOIN bumped ON bumped.id = i.d
)
SELECT id, base, last_seq, snapshot_seq, log_bytes FROM bumped
"""


# The same for a batch of one document's updates, the usual case (every batch of
# a lone busy document, most batches when many are typed in at a slow rate):
# its one row is locked by the UPDATE itself, so there is no order to keep and
# no grouping, which costs PostgreSQL a fifth less CPU per commit.
_APPEND_ONE_SQL = """
WITH bumped AS (
    UPDATE {documents} doc
    SET last_seq = doc.last_seq + %(count)s, log_bytes = doc.log_bytes + %(bytes)s,
        updated_at = %(now)s
    WHERE doc.id = %(document)s
    RETURNING doc.id, doc.last_seq - %(count)s AS base, doc.last_seq, doc.snapshot_seq,
        doc.log_bytes
), inserted AS (
    INSERT INTO {updates} (document_id, seq, data, author_id, created_at)
    SELECT bumped.id, bumped.base + t.o, t.b, t.a, %(now)s
    FROM bumped, unnest(%(data)s::bytea[], %(authors)s::bigint[]) WITH ORDINALITY AS t(b, a, o)
)
SELECT id, base, last_seq, snapshot_seq, log_bytes FROM bumped
"""

NEVER_BY_COUNT = 2**62


def _append_postgresql(batch: list[Pending]) -> Appended:
    """The batch in one statement, its parameters bound server-side.

    The ORM's queries (a locking SELECT, the INSERT, an UPDATE per document)
    cost three round trips and, on the writer's thread, more Python than
    PostgreSQL spent running them; Django's cursors also render every update's
    bytes into the SQL as hex text. A plain psycopg cursor sends them as
    binary parameters.

    Prepared (PREPARE_COMMITS): planning this statement afresh each time was
    half of PostgreSQL's CPU per commit (0.7 ms against 0.37 prepared).
    Django turns psycopg's preparing off for the whole connection (for
    poolers), which also ignores a `prepare=True`; it is turned on here for
    this one statement only, and every other query stays as Django sends it.
    """
    sql = append_sql()
    connection.ensure_connection()
    raw = connection.connection
    prepare = bool(conf.get("PREPARE_COMMITS"))
    threshold = raw.prepare_threshold
    if prepare and threshold is None:
        # Never reached by counting: only a query asked to be prepared is.
        raw.prepare_threshold = NEVER_BY_COUNT
    pg_arrays.teach(raw)
    try:
        with psycopg.Cursor(raw) as cursor:
            cursor.execute(sql, append_params(batch), prepare=prepare or None)
            # In autocommit (the writer) the statement is its own transaction;
            # inside a caller's (a test's), it commits with that.
            bumped = cursor.fetchall()
    finally:
        raw.prepare_threshold = threshold
    return appended(batch, bumped)


@functools.cache
def append_sql(*, one_document: bool = False) -> str:
    """The group commit's one statement on PostgreSQL (also `storage.commits`), built once;
    `one_document`: the statement for a batch of a single document's updates."""
    return (_APPEND_ONE_SQL if one_document else _APPEND_SQL).format(
        documents=connection.ops.quote_name(Document._meta.db_table),
        updates=connection.ops.quote_name(DocumentUpdate._meta.db_table),
    )


def append_params(batch: list[Pending]) -> dict[str, Any]:
    """`append_sql`'s parameters, the arrays already encoded (the connection must have
    been given `pg_arrays.teach`)."""
    return {
        "documents": pg_arrays.uuids([item.document_id for item in batch]),
        "data": pg_arrays.byteas([item.data for item in batch]),
        "authors": pg_arrays.int8s([item.author_id for item in batch]),
        "now": timezone.now(),
    }


def appended(batch: list[Pending], bumped: list[Any]) -> Appended:
    """The batch's sequence numbers, from the rows `append_sql` returns."""
    next_seq = {document_id: base for document_id, base, *_ in bumped}
    seqs: list[int | None] = []
    for item in batch:
        seq = next_seq.get(item.document_id)
        if seq is None:
            seqs.append(None)
        else:
            next_seq[item.document_id] = seq = seq + 1
            seqs.append(seq)
    compact = {
        document_id
        for document_id, _, last_seq, snapshot_seq, log_bytes in bumped
        if _due_for_compaction(last_seq, snapshot_seq, log_bytes)
    }
    return Appended(seqs, compact)


def _encode_compact(merged: bytes, doc: Doc[Any]) -> bytes:
    """The document re-encoded from its Doc (deleted content garbage-collected),
    unless that would lose anything the merged log holds."""
    encoded = doc.get_update()
    # Updates still waiting for a missing dependency are not in the Doc's own
    # encoding; keep the lossless merge for such a document.
    if get_state(encoded) != get_state(merged):
        return merged
    return encoded


def compact(document_id: UUID, *, label: str = "", user_id: int | None = None) -> Snapshot | None:
    """Fold the log into a new snapshot; None when another process got there first."""
    # Raises LoadError: nothing is written then. Quarantined updates are left
    # out of the content, and out of what the snapshot replaces below.
    loaded, doc = _load_checked(document_id)
    if loaded.last_seq == loaded.snapshot_seq and not label:
        return None
    snapshot_data = _encode_compact(loaded.update, doc)
    if snapshot_data == EMPTY_UPDATE and loaded.update != EMPTY_UPDATE:
        raise LoadError(f"document {document_id}: compaction produced an empty snapshot")
    crdt.doc_from_update(snapshot_data)  # the snapshot must read back
    with transaction.atomic():
        document = (
            Document.objects.select_for_update()
            .only("id", "last_seq", "snapshot_seq", "log_bytes")
            .filter(pk=document_id)
            .first()
        )
        if document is None or document.snapshot_seq != loaded.snapshot_seq:
            return None  # deleted, or compacted concurrently: our work is stale
        snapshot = Snapshot.objects.create(
            document_id=document_id,
            seq=loaded.last_seq,
            data=snapshot_data,
            label=label,
            created_by_id=user_id,
        )
        DocumentUpdate.objects.filter(
            document_id=document_id, seq__lte=loaded.last_seq, quarantined=False
        ).delete()
        # Quarantined rows stay, but they are not log to fold: counted, they
        # would ask for a compaction after every keystroke.
        remaining = DocumentUpdate.objects.filter(
            document_id=document_id, quarantined=False
        ).aggregate(total=Sum(Length("data")))["total"]
        document.snapshot_seq = loaded.last_seq
        document.log_bytes = remaining or 0
        document.save(update_fields=["snapshot_seq", "log_bytes"])
        _prune_snapshots(document_id)
    logger.info(
        "compacted document=%s seq=%d snapshot_bytes=%d",
        document_id,
        snapshot.seq,
        len(snapshot_data),
    )
    return snapshot


def _prune_snapshots(document_id: UUID) -> None:
    """Keep labelled snapshots, the newest few, and one per hour before them."""
    doomed = snapshots_to_prune(document_id)
    if doomed:
        Snapshot.objects.filter(pk__in=doomed).delete()


def snapshots_to_prune(document_id: UUID, *, keep_recent: int | None = None) -> list[int]:
    """The ids of the snapshots the retention policy lets go, newest first.

    Labelled snapshots, the newest `keep_recent` (KEEP_RECENT_SNAPSHOTS) and
    the newest of each hour before them stay; the newest snapshot always does,
    since loads start from it.
    """
    if keep_recent is None:
        keep_recent = conf.get("KEEP_RECENT_SNAPSHOTS")
    rows = list(
        Snapshot.objects.filter(document_id=document_id)
        .order_by("-seq", "-id")
        .values_list("id", "label", "created_at")
    )
    doomed = []
    seen_hours: set[tuple[int, int, int, int]] = set()
    for index, (snapshot_id, label, created_at) in enumerate(rows):
        hour = (created_at.year, created_at.month, created_at.day, created_at.hour)
        if index < max(keep_recent, 1) or label:
            seen_hours.add(hour)
            continue
        if hour in seen_hours:
            doomed.append(snapshot_id)
        else:
            seen_hours.add(hour)
    return doomed


def prune_history(document_id: UUID, *, keep_recent: int | None = None) -> list[int]:
    """Apply the retention policy now (compaction does it too); the ids deleted."""
    with transaction.atomic():
        # The row lock compaction holds while it prunes: the two never interleave.
        locked = Document.objects.select_for_update().filter(pk=document_id).values("pk")
        if not list(locked):
            return []
        doomed = snapshots_to_prune(document_id, keep_recent=keep_recent)
        if doomed:
            Snapshot.objects.filter(pk__in=doomed).delete()
    return doomed
