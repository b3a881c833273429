"""`manage.py export_document`: a document's current body as a file, from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser

from documents import export
from documents.export import downloads
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
        # Away from the site, a file names images by path only (there is no request's host).
        content = export.render(doc, fmt, downloads.download_of(document, doc, title=title))
        data = content.encode() if isinstance(content, str) else content
        output: str = options["output"]
        if output == "-":
            self.stdout.flush()
            # The file as it is (bytes for .docx), no newline added.
            stream = getattr(self.stdout._out, "buffer", None)
            if stream is None:
                self.stdout.write(data.decode("utf-8", "surrogateescape"), ending="")
            else:
                stream.write(data)
                stream.flush()
            return
        path = Path(output)
        if path.is_dir():
            path = path / export.download_filename(title, fmt)
        path.write_bytes(data)
        self.stderr.write(f"Wrote {path}")
