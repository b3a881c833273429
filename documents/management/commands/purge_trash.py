"""`manage.py purge_trash`: delete for good the documents trashed past the retention."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from documents import conf
from documents.library.trash import trash_purge


class Command(BaseCommand):
    help = (
        "Delete for good, with their history, the documents that have been in the trash "
        "longer than COLLAB_TRASH_RETENTION_DAYS (default 30). Run it daily, e.g. from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the documents that would be deleted, and delete nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        found = trash_purge(dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        for item in found:
            # The id, not only the title: titles are user input and may repeat.
            self.stdout.write(
                f"{verb} {item.id} (trashed {item.trashed_at.isoformat(timespec='minutes')})"
            )
        days = conf.get("TRASH_RETENTION_DAYS")
        self.stdout.write(f"{verb} {len(found)} document(s) trashed more than {days} day(s) ago.")
