"""`manage.py prune_history`: apply the version-history retention policy now."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser

from documents import conf
from documents.models import Document
from documents.storage import store


class Command(BaseCommand):
    help = (
        "Delete the snapshots (versions) the retention policy lets go: every labelled "
        "version stays, and so do the newest COLLAB_KEEP_RECENT_SNAPSHOTS (default 20) "
        "and the newest of each hour before them. Compaction applies the same policy as "
        "it goes; run this after lowering the setting, or with --keep-recent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "document_ids",
            nargs="*",
            type=UUID,
            metavar="DOCUMENT_ID",
            help="Only these documents (default: every document).",
        )
        parser.add_argument(
            "--keep-recent",
            type=int,
            default=None,
            help="Recent versions to keep instead of COLLAB_KEEP_RECENT_SNAPSHOTS (at least 1).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the versions that would be deleted, and delete nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keep_recent: int | None = options["keep_recent"]
        if keep_recent is not None and keep_recent < 1:
            raise CommandError("--keep-recent must be at least 1.")
        ids: list[UUID] = options["document_ids"]
        documents = Document.objects.all()
        if ids:
            found = set(documents.filter(pk__in=ids).values_list("pk", flat=True))
            if missing := set(ids) - found:
                raise CommandError(f"No such document: {', '.join(sorted(map(str, missing)))}")
            documents = documents.filter(pk__in=ids)
        dry_run: bool = options["dry_run"]
        verb = "Would delete" if dry_run else "Deleted"
        total = 0
        for document_id in documents.order_by("pk").values_list("pk", flat=True).iterator():
            if dry_run:
                doomed = store.snapshots_to_prune(document_id, keep_recent=keep_recent)
            else:
                doomed = store.prune_history(document_id, keep_recent=keep_recent)
            if doomed:
                total += len(doomed)
                self.stdout.write(f"{verb} {len(doomed)} version(s) of {document_id}")
        kept = keep_recent if keep_recent is not None else conf.get("KEEP_RECENT_SNAPSHOTS")
        self.stdout.write(f"{verb} {total} version(s) (keeping the newest {kept} per document).")
