"""`manage.py compact`: fold documents' update logs into snapshots now."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import F

from documents.models import Document
from documents.storage import store


class Command(BaseCommand):
    help = (
        "Fold the update log of one document (or of every document with --all) into a "
        "snapshot, as the server does by itself past COLLAB_COMPACT_AFTER_UPDATES or "
        "COLLAB_COMPACT_AFTER_BYTES. Safe while the servers run: each document is "
        "compacted under its row lock, and a snapshot that does not read back is never "
        "written. The folded log rows are deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("document_ids", nargs="*", type=UUID, metavar="DOCUMENT_ID")
        parser.add_argument(
            "--all", action="store_true", help="Every document with log after its snapshot."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the documents that would be compacted, and change nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[UUID] = options["document_ids"]
        if bool(ids) == options["all"]:
            raise CommandError("Name document ids or pass --all (not both).")
        documents = Document.objects.filter(last_seq__gt=F("snapshot_seq"))
        if ids:
            missing = set(ids) - set(
                Document.objects.filter(pk__in=ids).values_list("pk", flat=True)
            )
            if missing:
                raise CommandError(f"No such document: {', '.join(sorted(map(str, missing)))}")
            documents = documents.filter(pk__in=ids)
        rows = list(documents.order_by("pk").values_list("pk", "last_seq", "snapshot_seq"))
        dry_run: bool = options["dry_run"]
        failed = 0
        done = 0
        for document_id, last_seq, snapshot_seq in rows:
            pending = f"{last_seq - snapshot_seq} update(s) after seq {snapshot_seq}"
            if dry_run:
                self.stdout.write(f"Would compact {document_id}: {pending}")
                continue
            try:
                snapshot = store.compact(document_id)
            except store.LoadError as exc:
                # Unreadable: nothing was written; the others are still worth doing.
                failed += 1
                self.stderr.write(f"Could not compact {document_id}: {exc}")
                continue
            if snapshot is None:
                self.stdout.write(f"Skipped {document_id}: compacted meanwhile")
                continue
            done += 1
            self.stdout.write(f"Compacted {document_id}: {pending}, snapshot at seq {snapshot.seq}")
        if dry_run:
            self.stdout.write(f"Would compact {len(rows)} document(s).")
        else:
            self.stdout.write(f"Compacted {done} document(s).")
        if failed:
            raise CommandError(f"{failed} document(s) could not be compacted.")
