"""Version history: saving, listing, previewing and restoring versions, and who may."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from documents import export
from documents.history import services as history
from documents.models import Document, DocumentUpdate, Snapshot
from documents.realtime import messages
from documents.storage import store
from documents.tests.unit.test_export import BOLD, RICH_HTML, block, rich_body

pytestmark = [pytest.mark.django_db]


def current(document: Document) -> Doc:
    """The document's content as the database holds it."""
    doc: Doc = Doc()
    loaded = store.load(document.pk)
    if loaded.update != store.EMPTY_UPDATE:
        doc.apply_update(loaded.update)
    return doc


def edit(document: Document, change: Callable[[XmlFragment], Any]) -> bytes:
    """Change the body as an editor would: one update on top of the current content."""
    doc = current(document)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    with doc.transaction():
        change(doc.get("default", type=XmlFragment))
    doc.unobserve(subscription)
    store.append([store.Pending(document.pk, update, None) for update in updates])
    return updates[0]


def body(document: Document) -> tuple[export.Node, ...]:
    return export.body_of(current(document))


def markdown(document: Document) -> str:
    return export.to_markdown(current(document))


def type_words(document: Document, *words: str) -> None:
    """A new paragraph, then one update per word, like typing."""
    edit(document, lambda b: b.children.append(XmlElement("paragraph", contents=[XmlText()])))
    for word in words:

        def add(b: XmlFragment, word: str = word) -> None:
            paragraph = b.children[len(b.children) - 1]
            assert isinstance(paragraph, XmlElement)
            text = paragraph.children[0]
            assert isinstance(text, XmlText)
            text.insert(len(text), word)

        edit(document, add)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# Services --------------------------------------------------------------------


def test_saving_a_version_snapshots_the_current_content(personas, document):
    edit(document, rich_body)
    snapshot = history.snapshot_create(document=document, user=personas["editor"], label=" v1 ")
    assert snapshot.label == "v1"
    assert snapshot.created_by == personas["editor"]
    assert history.snapshot_preview(snapshot=snapshot) == RICH_HTML


def test_saving_a_version_with_nothing_new_in_the_log_still_saves_it(personas, document):
    edit(document, rich_body)
    first = history.snapshot_create(document=document, user=personas["owner"], label="one")
    second = history.snapshot_create(document=document, user=personas["owner"], label="two")
    assert second.pk != first.pk
    assert second.seq == first.seq
    assert [s.label for s in history.snapshot_list(document=document)] == ["two", "one"]
    assert history.snapshot_preview(snapshot=second) == RICH_HTML


def test_a_brand_new_document_can_be_saved_as_a_version(personas, document):
    snapshot = history.snapshot_create(document=document, user=personas["owner"], label="empty")
    assert snapshot.seq == 0
    assert history.snapshot_preview(snapshot=snapshot) == ""


def test_a_version_needs_a_name(personas, document):
    with pytest.raises(ValueError, match="needs a name"):
        history.snapshot_create(document=document, user=personas["owner"], label="  \n ")


def test_viewer_cannot_save_or_restore_a_version(personas, document):
    edit(document, rich_body)
    snapshot = history.snapshot_create(document=document, user=personas["owner"], label="v1")
    for name in ("viewer", "stranger"):
        with pytest.raises(PermissionDenied):
            history.snapshot_create(document=document, user=personas[name], label="mine")
        with pytest.raises(PermissionDenied):
            history.snapshot_restore(document=document, snapshot=snapshot, user=personas[name])


def test_versions_are_listed_newest_first_without_their_content(personas, document):
    edit(document, lambda b: block(b, "paragraph", "one"))
    history.snapshot_create(document=document, user=personas["owner"], label="first")
    edit(document, lambda b: block(b, "paragraph", "two"))
    store.compact(document.pk)  # an automatic save
    edit(document, lambda b: block(b, "paragraph", "three"))
    history.snapshot_create(document=document, user=personas["editor"], label="third")
    versions = list(history.snapshot_list(document=document))
    assert [(v.label, v.seq) for v in versions] == [("third", 3), ("", 2), ("first", 1)]
    assert all("data" in v.get_deferred_fields() for v in versions)
    assert all(v.size > 0 for v in versions)


def test_restore_makes_the_body_equal_the_version_with_a_forward_update(personas, document):
    edit(document, rich_body)
    version = history.snapshot_create(document=document, user=personas["owner"], label="v1")
    wanted = body(document)
    type_words(document, "later", " edits")
    edit(document, lambda b: b.children.__delitem__(0))  # the heading goes
    before = current(document)
    before_body = export.body_of(before)
    assert before_body != wanted
    document.refresh_from_db()
    last_seq = document.last_seq
    log_before = set(DocumentUpdate.objects.filter(document=document).values_list("seq", flat=True))
    snapshots_before = {s.pk: bytes(s.data) for s in Snapshot.objects.filter(document=document)}

    restored = history.snapshot_restore(
        document=document, snapshot=version, user=personas["editor"]
    )

    assert body(document) == wanted
    assert export.to_html(current(document)) == RICH_HTML
    document.refresh_from_db()
    # One new update, appended after everything before it.
    assert restored.seq == last_seq + 1 == document.last_seq
    update = DocumentUpdate.objects.get(document=document, seq=restored.seq)
    assert update.author == personas["editor"]
    # Nothing of the past is gone: every earlier snapshot is untouched, and the
    # log entries folded away are all covered by the pre-restore backup, which
    # holds exactly the content the restore replaced.
    assert restored.backup is not None
    for pk, data in snapshots_before.items():
        assert bytes(Snapshot.objects.get(pk=pk).data) == data
    assert max(log_before) == restored.backup.seq == last_seq
    log_after = set(DocumentUpdate.objects.filter(document=document).values_list("seq", flat=True))
    assert log_after == {restored.seq}
    backup_doc = history.snapshot_content(snapshot=restored.backup)
    assert export.body_of(backup_doc) == before_body
    # An editor who had the pre-restore content gets the version by applying
    # just the new update: it moves forward, nothing is rewound.
    before.apply_update(bytes(update.data))
    assert export.body_of(before) == wanted


def test_restore_only_grows_the_log_when_nothing_needs_folding(personas, document):
    edit(document, lambda b: block(b, "paragraph", "old"))
    version = history.snapshot_create(document=document, user=personas["owner"], label="old")
    edit(document, lambda b: block(b, "paragraph", "new"))
    # A named version of the present folds the log first; from then on a
    # restore deletes nothing and adds one update.
    history.snapshot_create(document=document, user=personas["owner"], label="present")
    updates_before = DocumentUpdate.objects.filter(document=document).count()
    snapshots_before = Snapshot.objects.filter(document=document).count()
    document.refresh_from_db()
    last_seq = document.last_seq

    restored = history.snapshot_restore(document=document, snapshot=version, user=personas["owner"])

    document.refresh_from_db()
    assert DocumentUpdate.objects.filter(document=document).count() == updates_before + 1
    assert Snapshot.objects.filter(document=document).count() == snapshots_before + 1
    assert document.last_seq == last_seq + 1 == restored.seq
    assert markdown(document) == "old\n"


def test_restore_is_undone_by_restoring_the_backup(personas, document):
    edit(document, lambda b: block(b, "paragraph", "first draft"))
    draft = history.snapshot_create(document=document, user=personas["owner"], label="draft")
    edit(document, rich_body)
    polished = body(document)

    restored = history.snapshot_restore(document=document, snapshot=draft, user=personas["owner"])
    assert markdown(document) == "first draft\n"
    assert restored.backup is not None
    assert restored.backup.label == "Before restoring “draft”"

    undo = history.snapshot_restore(
        document=document, snapshot=restored.backup, user=personas["owner"]
    )
    assert body(document) == polished
    assert undo.backup is not None
    # Quotes inside quotes alternate, as in print.
    assert undo.backup.label == "Before restoring ‘Before restoring “draft”’"  # noqa: RUF001
    document.refresh_from_db()
    assert document.last_seq == undo.seq


def test_restore_keeps_every_attribute_and_mark(personas, document):
    def build(b: XmlFragment) -> None:
        rich_body(b)
        numbered = b.children.append(XmlElement("orderedList", {"start": 7.0, "type": None}))
        item = numbered.children.append(XmlElement("listItem"))
        block(item, "paragraph", ("Grüße 👋", BOLD), " ", ("🎉 done", {"italic": {}, "strike": {}}))

    edit(document, build)
    version = history.snapshot_create(document=document, user=personas["owner"], label="rich")
    wanted = current(document).get("default", type=XmlFragment)
    edit(document, lambda b: b.children.__delitem__(slice(0, len(b.children))))
    assert markdown(document) == ""

    history.snapshot_restore(document=document, snapshot=version, user=personas["owner"])

    restored = current(document).get("default", type=XmlFragment)

    def attrs_and_marks(fragment: XmlFragment) -> list[Any]:
        out: list[Any] = []

        def walk(node: Any) -> None:
            if isinstance(node, XmlElement):
                out.append((node.tag, sorted(export.attributes_of(node).items(), key=str)))
                for child in node.children:
                    walk(child)
            else:
                out.append(node.diff())

        for child in fragment.children:
            walk(child)
        return out

    assert attrs_and_marks(restored) == attrs_and_marks(wanted)


def test_restoring_the_current_content_changes_nothing(personas, document):
    edit(document, rich_body)
    version = history.snapshot_create(document=document, user=personas["owner"], label="now")
    document.refresh_from_db()
    last_seq = document.last_seq
    restored = history.snapshot_restore(document=document, snapshot=version, user=personas["owner"])
    assert restored == history.Restored(backup=None, seq=None)
    document.refresh_from_db()
    assert document.last_seq == last_seq
    assert Snapshot.objects.filter(document=document).count() == 1


def test_restore_refuses_a_version_of_another_document(personas, document):
    other = Document.objects.create(title="Other", owner=personas["owner"])
    snapshot = history.snapshot_create(document=other, user=personas["owner"], label="x")
    with pytest.raises(ValueError, match="another document"):
        history.snapshot_restore(document=document, snapshot=snapshot, user=personas["owner"])


def test_restore_is_announced_to_open_editors_only_after_commit(
    personas, document, monkeypatch, django_capture_on_commit_callbacks
):
    edit(document, lambda b: block(b, "paragraph", "old"))
    version = history.snapshot_create(document=document, user=personas["owner"], label="old")
    edit(document, lambda b: block(b, "paragraph", "new"))
    announced: list[tuple[Any, int, bytes]] = []
    monkeypatch.setattr(
        messages,
        "announce",
        lambda document_id, message: announced.append(
            (document_id, message["seq"], message["update"])
        ),
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        restored = history.snapshot_restore(
            document=document, snapshot=version, user=personas["owner"]
        )
        assert announced == []

    assert len(callbacks) == 1
    update = DocumentUpdate.objects.get(document=document, seq=restored.seq)
    assert announced == [(document.pk, restored.seq, bytes(update.data))]


# Pages and API: who may do what ------------------------------------------------


@pytest.fixture
def versions(personas, document) -> tuple[Snapshot, Snapshot]:
    """Two named versions, the content now equal to the second."""
    edit(document, lambda b: block(b, "paragraph", "first <version>"))
    first = history.snapshot_create(document=document, user=personas["owner"], label="first")
    edit(document, lambda b: block(b, "paragraph", "second"))
    second = history.snapshot_create(document=document, user=personas["editor"], label="second")
    return first, second


def api(document: Document, suffix: str = "") -> str:
    return f"/api/documents/{document.pk}/history/{suffix}"


def page(document: Document, suffix: str = "") -> str:
    return f"/documents/{document.pk}/history/{suffix}"


READ = {"owner": 200, "editor": 200, "viewer": 200, "stranger": 404}
WRITE = {"owner": 201, "editor": 201, "viewer": 403, "stranger": 404}


@pytest.mark.parametrize("persona", list(READ))
def test_api_history_list(personas, document, versions, persona):
    response = client_for(personas[persona]).get(api(document))
    assert response.status_code == READ[persona]
    if response.status_code == 200:
        data = response.json()
        assert [v["label"] for v in data["versions"]] == ["second", "first"]
        assert data["can_edit"] is (persona != "viewer")
        newest = data["versions"][0]
        assert newest["created_by"]["name"] == "Editor"
        assert newest["automatic"] is False
        assert newest["url"] == api(document, f"{versions[1].pk}/")
        assert newest["restore_url"] == api(document, f"{versions[1].pk}/restore/")


@pytest.mark.parametrize("persona", list(WRITE))
def test_api_save_version(personas, document, persona):
    edit(document, lambda b: block(b, "paragraph", "text"))
    response = client_for(personas[persona]).post(
        api(document), {"label": "Named"}, content_type="application/json"
    )
    assert response.status_code == WRITE[persona]
    saved = Snapshot.objects.filter(document=document, label="Named")
    assert saved.exists() is (response.status_code == 201)
    if response.status_code == 201:
        assert response.json()["version"]["label"] == "Named"


def test_api_save_version_from_a_form(personas, document):
    response = client_for(personas["owner"]).post(api(document), {"label": "From a form"})
    assert response.status_code == 201
    assert Snapshot.objects.filter(document=document, label="From a form").exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{not json", "JSON"),
        (json.dumps({"label": 3}), "JSON"),
        (json.dumps({"label": " "}), "name"),
    ],
)
def test_api_save_version_rejects_bad_input(personas, document, body, error):
    response = client_for(personas["owner"]).post(
        api(document), body, content_type="application/json"
    )
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert not Snapshot.objects.filter(document=document).exists()


@pytest.mark.parametrize("persona", list(READ))
def test_api_version_preview(personas, document, versions, persona):
    response = client_for(personas[persona]).get(api(document, f"{versions[0].pk}/"))
    assert response.status_code == READ[persona]
    if response.status_code == 200:
        data = response.json()
        assert data["html"] == "<p>first &lt;version&gt;</p>"
        assert data["text"] == "first <version>\n"
        assert data["version"]["label"] == "first"


@pytest.mark.parametrize("persona", ["owner", "editor", "viewer", "stranger"])
def test_api_restore(personas, document, versions, persona):
    expected = {"owner": 200, "editor": 200, "viewer": 403, "stranger": 404}[persona]
    document.refresh_from_db()
    last_seq = document.last_seq
    response = client_for(personas[persona]).post(api(document, f"{versions[0].pk}/restore/"))
    assert response.status_code == expected
    document.refresh_from_db()
    if expected == 200:
        data = response.json()
        assert data["changed"] is True
        assert data["seq"] == last_seq + 1 == document.last_seq
        assert data["backup"]["label"] == "Before restoring “first”"
        assert markdown(document) == "first \\<version\\>\n"
    else:
        assert document.last_seq == last_seq
        assert markdown(document) == "first \\<version\\>\n\nsecond\n"


def test_api_answers_anonymous_with_401(document, versions):
    client = Client()
    for method, url in [
        ("get", api(document)),
        ("post", api(document)),
        ("get", api(document, f"{versions[0].pk}/")),
        ("post", api(document, f"{versions[0].pk}/restore/")),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 401, url
        assert response.json() == {"error": "authentication required"}


def test_api_version_of_another_document_is_not_found(personas, document, versions):
    other = Document.objects.create(title="Other", owner=personas["owner"])
    client = client_for(personas["owner"])
    assert client.get(api(other, f"{versions[0].pk}/")).status_code == 404
    assert client.post(api(other, f"{versions[0].pk}/restore/")).status_code == 404
    assert client.get(api(document, "999999/")).status_code == 404


def test_api_posts_need_the_csrf_token(personas, document, versions):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["owner"])
    client.get(page(document))  # sets the CSRF cookie, as the page would
    token = client.cookies["csrftoken"].value
    url = api(document)
    payload = json.dumps({"label": "with token"})
    assert client.post(url, payload, content_type="application/json").status_code == 403
    response = client.post(
        url, payload, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201
    restore = api(document, f"{versions[0].pk}/restore/")
    assert client.post(restore).status_code == 403
    assert client.post(restore, headers={"X-CSRFToken": token}).status_code == 200


@pytest.mark.parametrize("persona", list(READ))
def test_history_page(personas, document, versions, persona):
    response = client_for(personas[persona]).get(page(document))
    assert response.status_code == READ[persona]
    if response.status_code == 200:
        html = response.content.decode()
        assert "second" in html and "first" in html
        # The newest version is previewed, its text escaped.
        assert "<p>second</p>" in html
        restore = f'action="{page(document, f"{versions[1].pk}/restore/")}"'
        assert (restore in html) is (persona != "viewer")
        assert ('name="label"' in html) is (persona != "viewer")
        assert f"/documents/{document.pk}/export.md" in html


def test_history_page_previews_the_chosen_version_escaped(personas, document, versions):
    response = client_for(personas["viewer"]).get(page(document), {"version": versions[0].pk})
    assert response.status_code == 200
    assert "<p>first &lt;version&gt;</p>" in response.content.decode()


@pytest.mark.parametrize("version", ["999999", "nope"])
def test_history_page_unknown_version_is_not_found(personas, document, versions, version):
    response = client_for(personas["owner"]).get(page(document), {"version": version})
    assert response.status_code == 404


def test_history_page_for_a_document_without_versions(personas, document):
    response = client_for(personas["viewer"]).get(page(document))
    assert response.status_code == 200
    assert "No versions yet" in response.content.decode()


@pytest.mark.parametrize("persona", ["owner", "editor", "viewer", "stranger"])
def test_history_page_save_version(personas, document, persona):
    edit(document, lambda b: block(b, "paragraph", "text"))
    response = client_for(personas[persona]).post(page(document), {"label": "Milestone"})
    expected = {"owner": 302, "editor": 302, "viewer": 403, "stranger": 404}[persona]
    assert response.status_code == expected
    saved = Snapshot.objects.filter(document=document, label="Milestone").first()
    assert (saved is not None) is (expected == 302)
    if saved is not None:
        assert response["Location"] == f"{page(document)}?version={saved.pk}"


def test_history_page_save_version_without_a_name(personas, document):
    response = client_for(personas["owner"]).post(page(document), {"label": ""}, follow=True)
    assert "A version needs a name." in response.content.decode()
    assert not Snapshot.objects.filter(document=document).exists()


@pytest.mark.parametrize("persona", ["owner", "editor", "viewer", "stranger"])
def test_history_page_restore(personas, document, versions, persona):
    response = client_for(personas[persona]).post(page(document, f"{versions[0].pk}/restore/"))
    expected = {"owner": 302, "editor": 302, "viewer": 403, "stranger": 404}[persona]
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"] == f"/documents/{document.pk}/"
        assert markdown(document) == "first \\<version\\>\n"
    else:
        assert markdown(document) == "first \\<version\\>\n\nsecond\n"


def test_history_page_restore_reports_the_backup(personas, document, versions):
    response = client_for(personas["owner"]).post(
        page(document, f"{versions[0].pk}/restore/"), follow=True
    )
    html = response.content.decode()
    assert "Restored “first”" in html
    assert "Before restoring “first”" in html


def test_restore_message_nests_its_quotes(personas, document, versions):
    client = client_for(personas["owner"])
    client.post(page(document, f"{versions[0].pk}/restore/"))
    backup = Snapshot.objects.get(document=document, label="Before restoring “first”")

    response = client.post(page(document, f"{backup.pk}/restore/"), follow=True)
    html = response.content.decode()
    assert (
        "Restored ‘Before restoring “first”’. The previous content is saved as "  # noqa: RUF001
        "“Before restoring ‘Before restoring “first”’”." in html  # noqa: RUF001
    )
    assert "““" not in html and "””" not in html


def test_quotes_alternate_with_the_ones_inside():
    assert history.quoted("draft") == "“draft”"
    assert history.quoted('say "hi"') == '‘say "hi"’'  # noqa: RUF001
    assert history.quoted("a “b ‘c’”") == "‘a “b ‘c’”’"  # noqa: RUF001
    assert history.quoted("a ‘b “c”’") == "“a ‘b “c”’”"  # noqa: RUF001
    assert history.quoted("Bob's “plan”") == "‘Bob's “plan”’"  # noqa: RUF001


def test_automatic_saves_say_who_saved_them(personas, document, versions):
    type_words(document, "more")
    automatic = store.compact(document.pk)
    assert automatic is not None and automatic.created_by is None
    client = client_for(personas["viewer"])

    html = client.get(page(document)).content.decode()
    row = html.split(f'data-version-id="{automatic.pk}"')[1].split("</li>")[0]
    assert "Automatic save" in row
    assert "saved automatically" in row
    named = html.split(f'data-version-id="{versions[1].pk}"')[1].split("</li>")[0]
    assert '<span class="version-author">Editor</span>' in named

    preview = client.get(page(document, f"?version={automatic.pk}")).content.decode()
    head = preview.split('class="history-preview-head"')[1].split("</p>")[0]
    assert "saved automatically" in head


def test_history_page_needs_login(document, versions):
    for method, url in [
        ("get", page(document)),
        ("post", page(document)),
        ("post", page(document, f"{versions[0].pk}/restore/")),
    ]:
        response = getattr(Client(), method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")


def test_history_page_posts_need_the_csrf_token(personas, document, versions):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["owner"])
    response = client.post(page(document, f"{versions[0].pk}/restore/"))
    assert response.status_code == 403
    assert markdown(document) == "first \\<version\\>\n\nsecond\n"
