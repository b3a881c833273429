"""The Content-Security-Policy in a real browser: every page works under it, inline script does not.

These contexts do not bypass the policy (the Peer fixtures do, for Playwright's
eval-based polling), so they wait with locators and one-shot evaluations only.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Error, Page, expect

from documents.tests.support.sessions import session_cookie

# Runs before any page script; Playwright injects it outside the page's CSP.
# The count also goes on <html>, where a locator can wait for it.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
  document.documentElement.dataset.cspViolations = String(window.__cspViolations.length);
});
"""


class Browser:
    """One page in a context of its own, under the policy, recording what it refuses."""

    def __init__(self, new_context: Callable[..., BrowserContext], base_url: str, user: Any):
        self.base_url = base_url
        self.context = new_context(viewport={"width": 1200, "height": 800})
        if user is not None:
            name, _, value = session_cookie(user).partition("=")
            self.context.add_cookies([{"name": name, "value": value, "url": base_url}])
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.console: list[str] = []
        self.page.on("console", self._on_console)

    def _on_console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def goto(self, path: str) -> dict[str, str]:
        """Load a page; its response headers."""
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, path
        return response.headers

    def violations(self) -> list[str]:
        return [*self.console, *self.page.evaluate("window.__cspViolations || []")]

    def open_editor(self, document: Any) -> None:
        self.goto(f"/documents/{document.pk}/")
        expect(self.page.locator("body")).to_have_attribute("data-status", "connected")

    def type_at_end(self, text: str) -> None:
        self.page.evaluate("window.__editor.commands.focus('end')")
        expect(self.page.locator(".ProseMirror")).to_be_focused()
        self.page.keyboard.type(text)

    def assert_inline_script_refused(self) -> None:
        before = len(self.page.evaluate("window.__cspViolations"))
        with contextlib.suppress(Error):
            self.page.add_script_tag(content="window.__injected = true")
        expect(self.page.locator("html")).to_have_attribute("data-csp-violations", str(before + 1))
        assert self.page.evaluate("window.__injected === undefined")
        assert "script-src-elem inline" in self.page.evaluate("window.__cspViolations")[-1]
        # That refusal was the point; later checks start from a clean slate.
        self.console.clear()


def test_every_page_runs_under_the_policy(
    daphne_server: Any, new_context: Callable[..., BrowserContext], make_user: Any
):
    from documents import services
    from documents.models import Membership, Role

    alice_user, bob_user = make_user("Alice"), make_user("Bob")
    document = services.document_create(owner=alice_user, title="Under a policy")
    Membership.objects.create(document=document, user=bob_user, role=Role.EDITOR)
    alice = Browser(new_context, daphne_server.url, alice_user)
    bob = Browser(new_context, daphne_server.url, bob_user)

    alice.goto("/")
    expect(alice.page.locator(f"a[href*='{document.pk}']").first).to_be_visible()
    assert alice.violations() == []

    # The editor: its scripts, Tiptap's stylesheet, the carets' colours and
    # the socket (connect-src) are all allowed; edits sync both ways.
    alice.open_editor(document)
    bob.open_editor(document)
    alice.type_at_end("Under a strict policy.")
    expect(bob.page.locator(".ProseMirror")).to_contain_text("Under a strict policy.")
    bob.type_at_end(" Both ways.")
    expect(alice.page.locator(".ProseMirror")).to_contain_text("Both ways.")
    expect(alice.page.locator(".collaboration-carets__caret")).not_to_have_count(0)
    expect(alice.page.locator("body")).to_have_attribute("data-unsynced", "false")
    assert alice.violations() == []
    assert bob.violations() == []

    # The share dialog, which fetches the access API.
    alice.page.click("#share-button")
    dialog = alice.page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-busy", "false")
    assert alice.violations() == []
    alice.assert_inline_script_refused()

    alice.goto(f"/documents/{document.pk}/history/")
    # Saving a version posts a form (form-action) and shows the preview.
    alice.page.get_by_label("Version name").fill("Checked")
    alice.page.get_by_role("button", name="Save version").click()
    expect(alice.page.locator(".history-body")).to_contain_text("Both ways.")
    # The page's own stylesheet applied (it used to be an inline <style>).
    assert (
        alice.page.evaluate("getComputedStyle(document.querySelector('.history')).display")
        == "grid"
    )
    assert alice.violations() == []
    alice.assert_inline_script_refused()

    # Logged out: the login page.
    visitor = Browser(new_context, daphne_server.url, None)
    headers = visitor.goto("/accounts/login/")
    assert re.search(r"(^|; )script-src 'self';", headers["content-security-policy"])
    expect(visitor.page.locator("form")).to_be_visible()
    assert visitor.violations() == []
    visitor.assert_inline_script_refused()
