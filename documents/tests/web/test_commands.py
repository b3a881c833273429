"""The operators' management commands: compact, export_document, prune_history (and
send_comment_mail's help; its work is tested with the comments)."""

from __future__ import annotations

import datetime
import io
import subprocess
import sys
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from pycrdt import get_state

from devtools.paths import ROOT
from documents import export
from documents.export.render import RENDERERS
from documents.models import Document, DocumentUpdate, Snapshot
from documents.storage import store
from documents.storage.update_clocks import clocks
from documents.tests.unit.test_export import RICH_HTML, RICH_MARKDOWN, RICH_TEXT, rich_body
from documents.tests.web.test_history import current, edit, type_words

pytestmark = [pytest.mark.django_db]


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "command", ["compact", "export_document", "prune_history", "send_comment_mail"]
)
def test_every_command_explains_itself(command):
    result = subprocess.run(
        [sys.executable, "manage.py", command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"usage: manage.py {command}" in result.stdout
    # Those that delete or rewrite can say what they would do first.
    if command not in ("export_document", "send_comment_mail"):
        assert "--dry-run" in result.stdout


# compact ---------------------------------------------------------------------


def test_compact_folds_one_documents_log_into_a_snapshot(document, personas):
    type_words(document, "one ", "two ", "three")
    other = Document.objects.create(title="Other", owner=personas["owner"])
    type_words(other, "left alone")
    before = current(document).get_update()

    out, _ = run("compact", str(document.pk))

    assert f"Compacted {document.pk}: 4 update(s) after seq 0, snapshot at seq 4" in out
    assert not DocumentUpdate.objects.filter(document=document).exists()
    assert Snapshot.objects.get(document=document).seq == 4
    assert export.to_text(current(document)) == "one two three\n"
    # As clocks: the encoding's order of clients is not fixed.
    assert clocks(current(document).get_state()) == clocks(get_state(before))
    # Only the named document.
    assert DocumentUpdate.objects.filter(document=other).count() == 2


def test_compact_all_skips_documents_with_nothing_to_fold(document, personas):
    type_words(document, "a")
    other = Document.objects.create(title="Other", owner=personas["owner"])
    type_words(other, "b")
    idle = Document.objects.create(title="Idle", owner=personas["owner"])

    out, _ = run("compact", "--all")

    assert "Compacted 2 document(s)." in out
    assert str(idle.pk) not in out
    assert not DocumentUpdate.objects.filter(document__in=[document, other]).exists()
    out, _ = run("compact", "--all")
    assert "Compacted 0 document(s)." in out


def test_compact_dry_run_changes_nothing(document):
    type_words(document, "one ", "two")

    out, _ = run("compact", "--all", "--dry-run")

    assert f"Would compact {document.pk}: 3 update(s) after seq 0" in out
    assert "Would compact 1 document(s)." in out
    assert DocumentUpdate.objects.filter(document=document).count() == 3
    assert not Snapshot.objects.filter(document=document).exists()


def test_compact_needs_a_document_or_all(document):
    with pytest.raises(CommandError, match="Name document ids or pass --all"):
        run("compact")
    with pytest.raises(CommandError, match="not both"):
        run("compact", "--all", str(document.pk))
    missing = uuid.uuid4()
    with pytest.raises(CommandError, match=f"No such document: {missing}"):
        run("compact", str(missing))


# export_document ------------------------------------------------------------


def test_the_command_offers_every_export_format():
    # A format added to FORMATS must come with its renderer; the command and
    # the download then offer it by themselves.
    assert set(RENDERERS) == set(export.FORMATS)


@pytest.mark.parametrize(
    ("fmt", "expected"), [("txt", RICH_TEXT), ("md", RICH_MARKDOWN), ("html", RICH_HTML)]
)
def test_export_writes_the_current_body(document, fmt, expected):
    edit(document, rich_body)
    out, _ = run("export_document", str(document.pk), "--format", fmt)
    if fmt == "html":
        assert expected in out
        assert "<title>Test document</title>" in out
    else:
        assert out == expected


def test_export_to_a_directory_uses_the_download_name(document, tmp_path):
    edit(document, rich_body)
    document.title = "../Notes: Q3"
    document.save()

    _, err = run("export_document", str(document.pk), "--format", "md", "-o", str(tmp_path))

    (written,) = tmp_path.iterdir()
    assert written.name == export.download_filename("../Notes: Q3", "md")
    assert written.parent == tmp_path  # the hostile title does not leave the directory
    assert written.read_text() == RICH_MARKDOWN
    assert f"Wrote {written}" in err


def test_export_refuses_unknown_documents_and_formats(document):
    missing = uuid.uuid4()
    with pytest.raises(CommandError, match=f"No such document: {missing}"):
        run("export_document", str(missing))
    with pytest.raises(CommandError, match="invalid choice: 'pdf'"):
        run("export_document", str(document.pk), "--format", "pdf")


# prune_history ---------------------------------------------------------------


def versions(document: Document, count: int, *, hours_apart: float = 0) -> list[Snapshot]:
    """`count` unlabelled snapshots, oldest first, created `hours_apart` apart."""
    now = timezone.now()
    made = []
    for index in range(count):
        type_words(document, f"v{index} ")
        snapshot = store.compact(document.pk)
        assert snapshot is not None
        when = now - datetime.timedelta(hours=hours_apart * (count - 1 - index))
        Snapshot.objects.filter(pk=snapshot.pk).update(created_at=when)
        made.append(snapshot)
    return made


def test_prune_history_keeps_the_newest_and_labelled_versions(document, settings):
    settings.COLLAB = {"KEEP_RECENT_SNAPSHOTS": 50}  # compaction itself prunes nothing
    made = versions(document, 6)
    Snapshot.objects.filter(pk=made[1].pk).update(label="before the rewrite")

    out, _ = run("prune_history", "--keep-recent", "2")

    # All within one hour: only the newest two and the labelled one stay.
    kept = set(Snapshot.objects.filter(document=document).values_list("pk", flat=True))
    assert kept == {made[5].pk, made[4].pk, made[1].pk}
    assert f"Deleted 3 version(s) of {document.pk}" in out
    assert "Deleted 3 version(s) (keeping the newest 2 per document)." in out
    # The content is untouched: it is the newest snapshot plus the log.
    assert export.to_text(current(document)).split() == ["v0", "v1", "v2", "v3", "v4", "v5"]


def test_prune_history_keeps_one_version_per_hour_before_the_recent_ones(document, settings):
    settings.COLLAB = {"KEEP_RECENT_SNAPSHOTS": 50}
    versions(document, 5, hours_apart=1)
    versions(document, 2)  # the newest hour now holds three

    run("prune_history", "--keep-recent", "1")

    # The newest, then one for each of the four hours before.
    assert Snapshot.objects.filter(document=document).count() == 5


def test_prune_history_dry_run_deletes_nothing(document, settings):
    settings.COLLAB = {"KEEP_RECENT_SNAPSHOTS": 50}
    versions(document, 4)

    out, _ = run("prune_history", str(document.pk), "--keep-recent", "1", "--dry-run")

    assert f"Would delete 3 version(s) of {document.pk}" in out
    assert Snapshot.objects.filter(document=document).count() == 4


def test_prune_history_refuses_to_keep_nothing(document):
    with pytest.raises(CommandError, match="at least 1"):
        run("prune_history", "--keep-recent", "0")
    missing = uuid.uuid4()
    with pytest.raises(CommandError, match=f"No such document: {missing}"):
        run("prune_history", str(missing))
