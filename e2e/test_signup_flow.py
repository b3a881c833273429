"""A share link survives sign-up: someone without an account opens it, follows
"Create an account" from the log-in page, signs up, confirms joining and lands in
the document with the link's role."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from e2e.conftest import Peer

PASSWORD = "a-long-pass-phrase-7"


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_a_new_user_signs_up_from_a_share_link_and_lands_in_the_document(
    role: str, alice: Peer, new_context: Callable[..., BrowserContext], request: Any
):
    from documents import services
    from documents.sharing import services as sharing

    doc = services.document_create(owner=alice.user, title=f"Shared as {role}")
    alice.open(doc)
    alice.focus_end()
    alice.type("Hello from Alice.")
    alice.wait_saved()
    link = sharing.link_create(document=doc, by=alice.user, role=role)
    share_path = f"/share/{link.token}/"

    # A visitor with no account, in a browser of their own.
    context = new_context(viewport={"width": 1200, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    newcomer = Peer("Nina", None, context, page, alice.base_url)
    page.on("pageerror", lambda exc: newcomer.errors.append(f"pageerror: {exc}"))

    page.goto(alice.base_url + share_path)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.get_by_role("status")).to_have_text(
        "Log in or sign up to open the document Alice shared."
    )
    page.get_by_role("link", name="Create an account").click()

    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Sign up to open the document Alice shared.")
    page.get_by_role("textbox", name=re.compile("^Username")).fill(f"nina-{role}")
    page.get_by_role("textbox", name=re.compile("^Your name")).fill("Nina")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    # Back at the link, which asks before joining.
    expect(page).to_have_url(alice.base_url + share_path)
    expect(page.get_by_role("heading")).to_have_text(f"Join “{doc.title}” as {role}?")
    page.get_by_role("button", name=f"Join as {role}").click()
    expect(page).to_have_url(f"{alice.base_url}/documents/{doc.pk}/")
    newcomer.wait_status("connected")
    newcomer.wait_text_contains("Hello from Alice.")
    expect(page.locator("#role-badge")).to_have_text(role.capitalize())

    if role == "editor":
        assert page.evaluate("window.__editor.isEditable") is True
        newcomer.focus_end()
        newcomer.type(" Nina joined.")
        alice.wait_text_contains("Nina joined.")
    else:
        expect(page.locator("#readonly-banner")).to_be_visible()
        assert page.evaluate("window.__editor.isEditable") is False
        page.click(".ProseMirror")
        newcomer.type("sneaky")
        # Typing is refused in the page itself: nothing to wait for on the wire.
        assert "sneaky" not in newcomer.text()
        alice.focus_end()
        alice.type(" Still Alice.")
        newcomer.wait_text_contains("Still Alice.")
        assert "sneaky" not in alice.text()
    assert newcomer.errors == []
