"""Comments: the commenter role, threads and their JSON API, mentions, notifications, mail."""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
import signal
import threading
import time

import pytest
from django.core import mail
from django.core.management import call_command
from django.db.models import Max
from django.test import Client
from django.urls import reverse

from documents import conf
from documents.comments import mail as comment_mail
from documents.comments import services
from documents.comments.models import Comment, CommentThread, Notification, NotificationSettings
from documents.models import Membership, Role
from documents.permissions import can_comment, can_write, role_for
from documents.sharing import services as sharing
from documents.tests.web.mailbox import confirm_address, mails_to

pytestmark = pytest.mark.django_db(transaction=True)

ANCHOR = base64.b64encode(b"\x01\x02\x03\x04").decode()


@pytest.fixture
def commenter(personas, document, django_user_model):
    user = django_user_model.objects.create(username="commenter", first_name="Cora")
    sharing.access_grant(document=document, by=personas["owner"], who="commenter", role="commenter")
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client: Client, url: str, body: dict, method: str = "post"):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def new_thread(client: Client, document, body: str = "Looks good", quote: str = "hello"):
    url = reverse("api-comments", kwargs={"pk": document.pk})
    return post_json(
        client, url, {"anchor_from": ANCHOR, "anchor_to": ANCHOR, "quote": quote, "body": body}
    )


# -- the commenter role -----------------------------------------------------------


def test_commenter_ranks_between_viewer_and_editor():
    assert [can_comment(r) for r in (Role.VIEWER, Role.COMMENTER, Role.EDITOR, Role.OWNER)] == [
        False,
        True,
        True,
        True,
    ]
    assert not can_write(Role.COMMENTER)
    assert sharing.RANK[Role.VIEWER] < sharing.RANK[Role.COMMENTER] < sharing.RANK[Role.EDITOR]


def test_owner_can_grant_commenter_by_name_and_by_link(personas, document, commenter):
    assert role_for(commenter, document) == Role.COMMENTER
    link = sharing.link_create(document=document, by=personas["owner"], role="commenter")
    assert link.role == Role.COMMENTER
    sharing.link_redeem(token=link.token, user=personas["stranger"])
    assert role_for(personas["stranger"], document) == Role.COMMENTER
    # A commenter link does not lower an editor.
    sharing.link_redeem(token=link.token, user=personas["editor"])
    assert role_for(personas["editor"], document) == Role.EDITOR


def test_commenter_link_does_not_raise_past_a_higher_grant_but_raises_a_viewer(personas, document):
    link = sharing.link_create(document=document, by=personas["owner"], role="commenter")
    sharing.link_redeem(token=link.token, user=personas["viewer"])
    assert role_for(personas["viewer"], document) == Role.COMMENTER


def test_editor_page_tells_a_commenter_they_can_comment(document, commenter):
    page = client_for(commenter).get(reverse("document-edit", kwargs={"pk": document.pk}))
    assert page.status_code == 200
    config = page.context["config"]
    assert config["role"] == "commenter"
    assert config["canEdit"] is False
    assert config["canComment"] is True


# -- threads and the API ----------------------------------------------------------


def test_commenter_opens_a_thread_and_everyone_with_access_reads_it(personas, document, commenter):
    response = new_thread(client_for(commenter), document, body="  Nice <b>line</b>\r\n ")
    assert response.status_code == 201, response.content
    thread = response.json()["thread"]
    assert thread["comments"][0]["body"] == "Nice <b>line</b>"  # plain text, kept as typed
    assert thread["quote"] == "hello"
    assert thread["anchor"]["from"] == ANCHOR
    for persona in ("owner", "editor", "viewer"):
        listing = client_for(personas[persona]).get(
            reverse("api-comments", kwargs={"pk": document.pk})
        )
        assert listing.status_code == 200
        assert [t["id"] for t in listing.json()["threads"]] == [thread["id"]]
        assert listing.json()["can_comment"] == (persona != "viewer")


@pytest.mark.parametrize(
    ("persona", "status"), [("viewer", 403), ("stranger", 404), ("editor", 201), ("owner", 201)]
)
def test_who_may_open_a_thread(personas, document, persona, status):
    assert new_thread(client_for(personas[persona]), document).status_code == status
    assert CommentThread.objects.count() == (1 if status == 201 else 0)


def test_strangers_get_404_on_every_comment_path(personas, document, commenter):
    thread_id = new_thread(client_for(commenter), document).json()["thread"]["id"]
    comment_id = Comment.objects.get().pk
    stranger = client_for(personas["stranger"])
    pk = document.pk
    kwargs = {"pk": pk, "thread_id": thread_id}
    assert stranger.get(reverse("api-comments", kwargs={"pk": pk})).status_code == 404
    assert (
        post_json(
            stranger, reverse("api-comment-replies", kwargs=kwargs), {"body": "x"}
        ).status_code
        == 404
    )
    assert (
        post_json(
            stranger, reverse("api-comment-resolve", kwargs=kwargs), {"resolved": True}
        ).status_code
        == 404
    )
    url = reverse("api-comment", kwargs={**kwargs, "comment_id": comment_id})
    assert post_json(stranger, url, {"body": "x"}, method="patch").status_code == 404
    assert stranger.delete(url).status_code == 404
    assert Client().get(reverse("api-comments", kwargs={"pk": pk})).status_code == 401


def test_reply_edit_delete_resolve_reopen(personas, document, commenter):
    owner = client_for(personas["owner"])
    thread_id = new_thread(client_for(commenter), document).json()["thread"]["id"]
    kwargs = {"pk": document.pk, "thread_id": thread_id}
    reply = post_json(owner, reverse("api-comment-replies", kwargs=kwargs), {"body": "Thanks"})
    assert reply.status_code == 201
    assert [c["body"] for c in reply.json()["thread"]["comments"]] == ["Looks good", "Thanks"]
    reply_id = reply.json()["comment"]["id"]
    mine = reverse("api-comment", kwargs={**kwargs, "comment_id": reply_id})
    # Only its author may change a comment.
    assert post_json(client_for(commenter), mine, {"body": "x"}, method="patch").status_code == 403
    assert client_for(commenter).delete(mine).status_code == 403
    edited = post_json(owner, mine, {"body": "Thanks!"}, method="patch")
    assert edited.status_code == 200
    assert edited.json()["thread"]["comments"][1]["edited_at"] is not None
    resolve = reverse("api-comment-resolve", kwargs=kwargs)
    assert post_json(owner, resolve, {"resolved": True}).json()["thread"]["resolved"] is True
    assert post_json(owner, resolve, {"resolved": "yes"}).status_code == 400
    assert post_json(owner, resolve, {"resolved": False}).json()["thread"]["resolved"] is False
    assert owner.delete(mine).status_code == 200
    assert Comment.objects.filter(thread_id=thread_id).count() == 1
    # The last comment goes, and the thread with it.
    first = Comment.objects.get(thread_id=thread_id)
    url = reverse("api-comment", kwargs={**kwargs, "comment_id": first.pk})
    assert client_for(commenter).delete(url).json()["thread"] is None
    assert not CommentThread.objects.exists()


def test_a_viewer_cannot_reply_or_resolve(personas, document, commenter):
    thread_id = new_thread(client_for(commenter), document).json()["thread"]["id"]
    viewer = client_for(personas["viewer"])
    kwargs = {"pk": document.pk, "thread_id": thread_id}
    url = reverse("api-comment-replies", kwargs=kwargs)
    assert post_json(viewer, url, {"body": "x"}).status_code == 403
    url = reverse("api-comment-resolve", kwargs=kwargs)
    assert post_json(viewer, url, {"resolved": True}).status_code == 403


def test_a_thread_of_another_document_is_not_found(personas, document, commenter):
    from documents.models import Document

    thread_id = new_thread(client_for(commenter), document).json()["thread"]["id"]
    other = Document.objects.create(title="Other", owner=personas["owner"])
    url = reverse("api-comment-replies", kwargs={"pk": other.pk, "thread_id": thread_id})
    assert post_json(client_for(personas["owner"]), url, {"body": "x"}).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"anchor_from": ANCHOR, "anchor_to": ANCHOR, "body": ""},
        {"anchor_from": ANCHOR, "anchor_to": ANCHOR, "body": "x" * 5001},
        {"anchor_from": ANCHOR, "anchor_to": ANCHOR, "body": ["x"]},
        {"anchor_from": "%%%", "anchor_to": ANCHOR, "body": "x"},
        {"anchor_from": base64.b64encode(b"x" * 300).decode(), "anchor_to": ANCHOR, "body": "x"},
        {"anchor_to": ANCHOR, "body": "x"},
        {"anchor_from": ANCHOR, "anchor_to": ANCHOR, "body": "x", "quote": 3},
    ],
)
def test_bad_comments_are_refused_with_a_message(personas, document, body):
    url = reverse("api-comments", kwargs={"pk": document.pk})
    response = post_json(client_for(personas["owner"]), url, body)
    assert response.status_code == 400
    assert response.json()["error"]
    assert not CommentThread.objects.exists()


def test_control_characters_are_removed_from_comments(personas, document):
    response = new_thread(client_for(personas["owner"]), document, body="a\x07b\u202ec\td")
    assert response.json()["thread"]["comments"][0]["body"] == "abc\td"


def test_commenting_is_rate_limited(personas, document, settings):
    settings.COLLAB = {"COMMENTS_PER_MINUTE": 2}
    client = client_for(personas["owner"])
    assert [new_thread(client, document).status_code for _ in range(3)] == [201, 201, 429]
    assert CommentThread.objects.count() == 2


def test_restoring_a_version_keeps_the_threads(personas, document):
    from documents.history import services as history
    from documents.storage import store

    store.compact(document.pk, label="v1")
    new_thread(client_for(personas["owner"]), document)
    version = document.snapshots.latest("seq")
    history.snapshot_restore(document=document, user=personas["owner"], snapshot=version)
    assert CommentThread.objects.filter(document=document).count() == 1


# -- mentions and notifications -----------------------------------------------------


def test_mention_notifies_a_member_and_reports_those_without_access(personas, document):
    response = new_thread(
        client_for(personas["owner"]), document, body="@editor and @stranger, see mail@x.org"
    )
    assert response.json()["unreached"] == ["stranger"]
    assert response.json()["can_share"] is True
    assert list(Notification.objects.values_list("user__username", "kind")) == [
        ("editor", "mention")
    ]
    listing = client_for(personas["editor"]).get(reverse("api-notifications")).json()
    assert listing["unread"] == 1
    assert listing["notifications"][0]["actor"]["name"] == "Owner"
    assert listing["notifications"][0]["url"].endswith(f"#thread-{response.json()['thread']['id']}")


def test_a_non_owner_is_not_told_whether_a_username_exists(personas, document):
    response = new_thread(client_for(personas["editor"]), document, body="@stranger @nobody")
    assert response.json()["unreached"] == ["stranger", "nobody"]
    assert response.json()["can_share"] is False


def test_replies_notify_the_thread_s_earlier_authors_but_not_the_replier(personas, document):
    thread_id = new_thread(client_for(personas["editor"]), document).json()["thread"]["id"]
    url = reverse("api-comment-replies", kwargs={"pk": document.pk, "thread_id": thread_id})
    post_json(client_for(personas["owner"]), url, {"body": "Reply"})
    post_json(client_for(personas["editor"]), url, {"body": "Back to you"})
    rows = sorted(Notification.objects.values_list("user__username", "kind"))
    assert rows == [("editor", "reply"), ("owner", "reply")]


def test_notifications_of_a_document_one_lost_access_to_are_hidden(personas, document):
    new_thread(client_for(personas["owner"]), document, body="@editor")
    client = client_for(personas["editor"])
    assert client.get(reverse("api-notifications")).json()["unread"] == 1
    sharing.access_revoke(document=document, by=personas["owner"], user_id=personas["editor"].pk)
    assert client.get(reverse("api-notifications")).json() == {"unread": 0, "notifications": []}


def test_mark_as_read(personas, document):
    new_thread(client_for(personas["owner"]), document, body="@editor one")
    new_thread(client_for(personas["owner"]), document, body="@editor two")
    client = client_for(personas["editor"])
    first = Notification.objects.order_by("id").first()
    read = post_json(client, reverse("api-notifications-read"), {"ids": [first.pk]})
    assert read.json() == {"read": 1, "unread": 1}
    assert post_json(client, reverse("api-notifications-read"), {"ids": "all"}).status_code == 400
    assert post_json(client, reverse("api-notifications-read"), {}).json()["unread"] == 0


def test_mail_goes_to_a_confirmed_address_once_per_busy_thread(personas, document):
    confirm_address(personas["editor"], "editor@example.com")
    mail.outbox.clear()
    thread_id = new_thread(client_for(personas["editor"]), document).json()["thread"]["id"]
    url = reverse("api-comment-replies", kwargs={"pk": document.pk, "thread_id": thread_id})
    owner = client_for(personas["owner"])
    for text in ("One", "Two", "Three"):
        post_json(owner, url, {"body": text})
    sent = mails_to("editor@example.com")
    assert len(sent) == 1
    assert "One" in sent[0].body and f"#thread-{thread_id}" in sent[0].body
    # After the window the waiting ones go out together, in one mail.
    from datetime import timedelta

    from django.utils import timezone

    later = timezone.now() + timedelta(hours=1)
    comment_mail.notifications_mail(
        user_ids=[personas["editor"].pk], absolute=lambda p: p, now=later
    )
    sent = mails_to("editor@example.com")
    assert len(sent) == 2
    assert "Two" in sent[1].body and "Three" in sent[1].body


def busy_thread(personas, document, *replies: str) -> int:
    """The editor's thread, with the owner's replies; the editor is mailed the first at once."""
    confirm_address(personas["editor"], "editor@example.com")
    mail.outbox.clear()
    thread_id = new_thread(client_for(personas["editor"]), document).json()["thread"]["id"]
    url = reverse("api-comment-replies", kwargs={"pk": document.pk, "thread_id": thread_id})
    owner = client_for(personas["owner"])
    for text in replies:
        post_json(owner, url, {"body": text})
    return thread_id


def window_end(personas) -> datetime.datetime:
    """When the editor's last comment mail's window closes."""
    last = Notification.objects.filter(user=personas["editor"]).aggregate(Max("mailed_at"))
    seconds = conf.get("COMMENT_MAIL_BATCH_SECONDS")
    return last["mailed_at__max"] + datetime.timedelta(seconds=seconds)


def send_comment_mail(**options) -> str:
    out = io.StringIO()
    call_command("send_comment_mail", stdout=out, **options)
    return out.getvalue()


def test_a_waiting_mail_is_sent_by_the_command_once_its_window_has_passed(
    personas, document, settings
):
    settings.SITE_URL = "https://docs.example.com"
    thread_id = busy_thread(personas, document, "One", "Two", "Three")
    assert len(mails_to("editor@example.com")) == 1  # "One"; the others wait
    end = window_end(personas)
    # Within the window nothing is due, however often the command runs.
    assert send_comment_mail() == "Sent 0 comment mail(s).\n"
    assert send_comment_mail(now=end - datetime.timedelta(seconds=1)).startswith("Sent 0 ")
    assert len(mails_to("editor@example.com")) == 1
    # Once it has passed, the waiting ones go out together, with no later comment needed.
    assert send_comment_mail(now=end) == "Sent 1 comment mail(s).\n"
    sent = mails_to("editor@example.com")
    assert len(sent) == 2
    assert "Two" in sent[1].body and "Three" in sent[1].body and "One" not in sent[1].body
    link = f"https://docs.example.com/documents/{document.pk}/#thread-{thread_id}"
    assert link in sent[1].body
    # Sent once.
    assert send_comment_mail(now=end + datetime.timedelta(hours=1)).startswith("Sent 0 ")
    assert not Notification.objects.filter(mailed_at__isnull=True).exists()


def test_a_waiting_mail_read_in_the_page_is_not_sent(personas, document):
    busy_thread(personas, document, "One", "Two")
    post_json(client_for(personas["editor"]), reverse("api-notifications-read"), {})
    assert send_comment_mail(now=window_end(personas)).startswith("Sent 0 ")
    assert len(mails_to("editor@example.com")) == 1


def test_two_sweeps_at_once_send_a_due_mail_once(personas, document, monkeypatch):
    from django.db import connection

    busy_thread(personas, document, "One", "Two")
    end = window_end(personas)
    sending = threading.Event()
    release = threading.Event()
    real_send = comment_mail.send_mail

    def slow_send(*args, **kwargs):
        # The first sweep holds its lock on the editor's rows while it sends.
        if not sending.is_set():
            sending.set()
            assert release.wait(10)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(comment_mail, "send_mail", slow_send)
    results: dict[str, str] = {}

    def sweep(name: str) -> None:
        try:
            results[name] = send_comment_mail(now=end)
        finally:
            connection.close()

    first = threading.Thread(target=sweep, args=("first",))
    first.start()
    assert sending.wait(10)
    # While the first is mailing, a second sweep skips the rows it locked, at once.
    second = threading.Thread(target=sweep, args=("second",))
    second.start()
    second.join(10)
    assert not second.is_alive(), "the second sweep waited for the first one's lock"
    release.set()
    first.join(10)
    assert results == {"first": "Sent 1 comment mail(s).\n", "second": "Sent 0 comment mail(s).\n"}
    assert len(mails_to("editor@example.com")) == 2


def test_the_server_s_own_sweep_sends_a_waiting_mail(personas, document):
    from documents.comments.sweeper import MailSweeper

    busy_thread(personas, document, "One", "Two")
    end = window_end(personas)
    sweeper = MailSweeper(interval=0.05, clock=lambda: end)
    sweeper.start()
    try:
        deadline = time.monotonic() + 5
        while len(mails_to("editor@example.com")) < 2:
            assert time.monotonic() < deadline, "the sweeper sent nothing"
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert "Two" in mails_to("editor@example.com")[1].body


def test_send_comment_mail_loop_sends_what_falls_due_until_stopped(personas, document):
    busy_thread(personas, document, "One", "Two")
    end = window_end(personas)

    def stop_once_sent() -> None:
        deadline = time.monotonic() + 5
        while len(mails_to("editor@example.com")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_once_sent)
    stopper.start()
    out = send_comment_mail(loop=0.05, now=end)
    stopper.join()
    assert "Sent 1 comment mail(s)." in out and out.endswith("Stopped.\n")
    assert len(mails_to("editor@example.com")) == 2


def test_no_mail_without_a_confirmed_address_or_when_turned_off(personas, document):
    new_thread(client_for(personas["owner"]), document, body="@editor")
    assert mail.outbox == []
    confirm_address(personas["viewer"], "viewer@example.com")
    mail.outbox.clear()
    client = client_for(personas["viewer"])
    assert client.post(reverse("comment-settings"), {}).status_code == 302
    assert NotificationSettings.objects.get(user=personas["viewer"]).email_enabled is False
    new_thread(client_for(personas["owner"]), document, body="@viewer")
    assert Notification.objects.filter(user=personas["viewer"]).exists()
    assert mail.outbox == []


def test_mail_subject_cannot_carry_headers(personas, document):
    confirm_address(personas["editor"], "editor@example.com")
    mail.outbox.clear()
    personas["owner"].first_name = "Evil\r\nBcc: x@example.com"
    personas["owner"].save()
    document.title = "T\nX-Header: y"
    document.save()
    new_thread(client_for(personas["owner"]), document, body="@editor hi")
    (sent,) = mails_to("editor@example.com")
    assert "\n" not in sent.subject and "\r" not in sent.subject


def test_mention_text_rules():
    from documents.comments.text import mentioned_usernames

    assert mentioned_usernames("@Bob, @bob and a@b.com and @carol.") == ["Bob", "carol"]


def test_membership_rows_for_commenter_keep_role_columns_in_step(personas, document, commenter):
    membership = Membership.objects.get(document=document, user=commenter)
    assert (membership.role, membership.name_role) == ("commenter", "commenter")


def test_services_refuse_a_viewer_directly(personas, document):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.thread_create(
            document=document,
            by=personas["viewer"],
            anchor_from=b"\x01",
            anchor_to=b"\x01",
            quote="",
            body="x",
        )


# -- exports ------------------------------------------------------------------------


def export(client: Client, document, fmt: str, query: str = "") -> str:
    url = reverse("document-export", kwargs={"pk": document.pk, "fmt": fmt}) + query
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_exports_leave_comments_out_unless_asked(personas, document):
    owner = client_for(personas["owner"])
    new_thread(owner, document, body="<script>alert(1)</script> *bold*", quote="the <b>quote</b>")
    resolved = new_thread(owner, document, body="Done already").json()["thread"]["id"]
    url = reverse("api-comment-resolve", kwargs={"pk": document.pk, "thread_id": resolved})
    post_json(owner, url, {"resolved": True})
    viewer = client_for(personas["viewer"])
    for fmt in ("txt", "md", "html"):
        assert "alert" not in export(viewer, document, fmt)
    page = export(viewer, document, "html", "?comments=1")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "the &lt;b&gt;quote&lt;/b&gt;" in page
    assert "Done already" not in page  # resolved threads stay out
    text = export(viewer, document, "md", "?comments=1")
    assert "**Owner**: <script>" not in text
    assert r"\*bold\*" in text and "Done already" not in text
    assert "alert" not in export(viewer, document, "txt", "?comments=1")
    stranger = client_for(personas["stranger"])
    url = reverse("document-export", kwargs={"pk": document.pk, "fmt": "md"}) + "?comments=1"
    assert stranger.get(url).status_code == 404


def stored_body(document, *paragraphs: str) -> dict[str, tuple[bytes, bytes]]:
    """Write the paragraphs as one editor would; an anchor (as the browser makes it)
    for each paragraph's text, by that text."""
    from pycrdt import Doc, XmlElement, XmlFragment, XmlText

    from documents.comments.anchors import RelativePosition, encode_position
    from documents.storage import store

    doc = Doc(client_id=4242)
    body = doc.get("default", type=XmlFragment)
    anchors = {}
    clock = 0
    with doc.transaction():
        for words in paragraphs:
            body.children.append(XmlElement("paragraph", contents=[XmlText(words)]))
            # The paragraph, its text, then one tick per (ASCII) character.
            first, last = (4242, clock + 2), (4242, clock + 1 + len(words))
            anchors[words] = (
                encode_position(RelativePosition(item=first, assoc=0)),
                encode_position(RelativePosition(item=last, assoc=-1)),
            )
            clock += 2 + len(words)
    store.append([store.Pending(document.pk, doc.get_update(), None)])
    return anchors


def thread_on(client: Client, document, anchor: tuple[bytes, bytes], body: str, quote: str):
    url = reverse("api-comments", kwargs={"pk": document.pk})
    encoded = [base64.b64encode(a).decode() for a in anchor]
    response = post_json(
        client,
        url,
        {"anchor_from": encoded[0], "anchor_to": encoded[1], "quote": quote, "body": body},
    )
    assert response.status_code == 201, response.content
    return response.json()["thread"]["id"]


def test_exported_notes_are_marked_where_their_text_ends(personas, document):
    anchors = stored_body(document, "Opening line", "Second thought", "Closing words")
    owner = client_for(personas["owner"])
    # Opened out of reading order: numbered as the markers read.
    thread_on(owner, document, anchors["Closing words"], "Last one", "Closing words")
    thread_on(owner, document, anchors["Opening line"], "First one", "Opening line")
    # Garbage, as a broken client might post: listed as detached, never marked.
    thread_on(owner, document, (b"\x01\x02", b"\x03"), "Lost its text", "gone")
    viewer = client_for(personas["viewer"])
    text = export(viewer, document, "md", "?comments=1")
    assert text.startswith("Opening line[^1]\n\nSecond thought\n\nClosing words[^2]\n")
    assert "[^1]: “Opening line” — **Owner**: First one\n" in text
    assert "[^2]: “Closing words” — **Owner**: Last one\n" in text
    detached = text.split("**Detached comments**")[1]
    assert "Lost its text" in detached and "[^" not in detached
    page = export(viewer, document, "html", "?comments=1")
    assert '<p>Opening line<sup><a href="#comment-1" id="comment-ref-1">1</a></sup></p>' in page
    assert '<li id="comment-1"><blockquote>Opening line</blockquote>' in page
    assert '<a href="#comment-ref-1"' in page and '<a href="#comment-ref-2"' in page
    assert "comment-ref-3" not in page  # the detached thread has no marker
    assert page.index("Lost its text") > page.index("Detached comments")
    # Without ?comments=1 the body carries no marker at all.
    assert export(viewer, document, "md") == "Opening line\n\nSecond thought\n\nClosing words\n"
    assert "<sup>" not in export(viewer, document, "html")


def test_hostile_quotes_and_comments_stay_inert_around_markers(personas, document):
    anchors = stored_body(document, "Plain text here")
    owner = client_for(personas["owner"])
    hostile = "[^1]: <img src=x onerror=alert(1)> </sup></a><script>x()</script> ](javascript:x)"
    thread_on(owner, document, anchors["Plain text here"], hostile, quote="<b>[^2]</b>")
    text = export(owner, document, "md", "?comments=1")
    # One reference and one definition: the comment's own "[^1]:" is escaped.
    assert text.count("[^1]") == 2
    assert "\\[^1\\]: \\<img" in text and "<script>" not in text and "\\<b\\>\\[^2\\]" in text
    page = export(owner, document, "html", "?comments=1")
    assert "<script>" not in page and "<img" not in page and "</sup></a><script>" not in page
    assert "&lt;/sup&gt;&lt;/a&gt;&lt;script&gt;" in page
    assert "&lt;b&gt;[^2]&lt;/b&gt;" in page
