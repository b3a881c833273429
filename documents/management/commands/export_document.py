"""`manage.py export_document`: a document's current body as a file, from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser

from documents import export
from documents.models import Document
from documents.storage import crdt, server_edits, store


class Command(BaseCommand):
    help = (
        "Write a document's current body (snapshot plus log, as editors see it) in one of "
        "the export formats, to a file or to standard output. It reads only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("document_id", type=UUID, metavar="DOCUMENT_ID")
        parser.add_argument(
            "--format",
            dest="fmt",
            # The formats the download offers, whichever are added later.
            choices=sorted(export.FORMATS),
            default="md",
            help="Export format (default: md).",
        )
        parser.add_argument(
            "-o",
            "--output",
            default="-",
            help="File to write; a directory gets the download's file name; - (the "
            "default) writes to standard output.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        document = Document.objects.filter(pk=options["document_id"]).first()
        if document is None:
            raise CommandError(f"No such document: {options['document_id']}")
        fmt: str = options["fmt"]
        try:
            doc = crdt.doc_from_update(store.load(document.pk).update)
        except store.LoadError as exc:
            raise CommandError(str(exc)) from None
        title = server_edits.title_of(server_edits.meta_of(doc)) or document.title
        content = export.render(doc, fmt, title=title)
        output: str = options["output"]
        if output == "-":
            self.stdout.write(content, ending="")  # the file as it is, no newline added
            return
        path = Path(output)
        if path.is_dir():
            path = path / export.download_filename(title, fmt)
        path.write_text(content, encoding="utf-8")
        self.stderr.write(f"Wrote {path}")
