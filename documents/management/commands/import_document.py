"""manage.py import_document FILE --owner USERNAME: a .md, .html or .docx file as a new document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from documents.imports import services


class Command(BaseCommand):
    help = (
        "Import a Markdown (.md), HTML (.html) or Word (.docx) file as a new document owned by "
        "--owner, titled by its first heading (or the file name). Images in Word files are "
        "stored as images of the new document. Prints the new document's id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the file to import (.md, .html or .docx)")
        parser.add_argument(
            "--owner", required=True, help="username of the user who will own the document"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        user = get_user_model().objects.filter(username=options["owner"]).first()
        if user is None:
            raise CommandError(f"No user named {options['owner']!r}.")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from None
        try:
            document = services.document_import(owner=user, filename=path.name, data=data)
        except services.ImportRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{document.pk} {document.title}")
