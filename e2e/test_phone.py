"""Every page on a phone: nothing wider than the screen, and every action in reach by touch.

At 390 and 360 CSS pixels with touch and a mobile viewport, against a server in
production mode (the 404 page is the app's only then). With `is_mobile`,
Chromium zooms a page out to show content wider than the screen, which makes
window.innerWidth grow with it: so the screen's own width is checked too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from documents.tests.support.sessions import session_cookie
from e2e.production import production_server, production_static  # noqa: F401

WIDTHS = [390, 360]


@pytest.fixture
def daphne_server(production_server: Any) -> Any:  # noqa: F811
    return production_server


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def phone(
    request: pytest.FixtureRequest,
    new_context: Callable[..., BrowserContext],
    daphne_server: Any,
) -> Callable[[Any], Page]:
    """A phone's page, signed in as `user` (None: signed out)."""
    width = request.param

    def open_page(user: Any) -> Page:
        context = new_context(
            viewport={"width": width, "height": 844},
            has_touch=True,
            is_mobile=True,
            # wait_for_function polls with eval, which the site's CSP refuses.
            bypass_csp=True,
        )
        if user is not None:
            name, _, value = session_cookie(user).partition("=")
            context.add_cookies([{"name": name, "value": value, "url": daphne_server.url}])
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.base_url = daphne_server.url  # type: ignore[attr-defined]
        page.screen_width = width  # type: ignore[attr-defined]
        return page

    return open_page


@pytest.fixture
def owner(make_user: Callable[[str], Any]) -> Any:
    # A long name: it must not push Log out off the screen.
    user = make_user("Alexandria")
    user.last_name = "Featherstonehaugh-Montgomery"
    user.save(update_fields=["last_name"])
    return user


@pytest.fixture
def document(owner: Any, make_user: Callable[[str], Any]) -> Any:
    from documents import services
    from documents.models import Membership, Role

    doc = services.document_create(
        owner=owner, title="Quarterly planning notes for the product team offsite in Lisbon"
    )
    other = services.document_create(owner=make_user("Bartholomew"), title="W" * 120)
    Membership.objects.create(document=other, user=owner, role=Role.EDITOR)
    return doc


def go(page: Page, path: str, status: int = 200) -> None:
    response = page.goto(page.base_url + path)  # type: ignore[attr-defined]
    assert response is not None and response.status == status, path


def assert_fits(page: Page, what: str) -> None:
    """Nothing on the page is wider than the screen."""
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    width = page.screen_width  # type: ignore[attr-defined]
    assert scroll <= inner, f"{what}: {scroll} px of content on a {inner} px screen"
    assert inner == width, f"{what}: zoomed out to {inner} px to fit wider content"


def assert_in_reach(control: Locator) -> None:
    """Visible, inside the screen, big enough for a finger, and tappable."""
    expect(control).to_be_visible()
    box = control.bounding_box()
    assert box is not None
    width = control.page.screen_width  # type: ignore[attr-defined]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert box["height"] >= 40, box
    control.tap(trial=True)  # the actionability checks, without tapping


def open_menu(page: Page) -> Locator:
    toggle = page.get_by_role("button", name="Menu", exact=True)
    assert_in_reach(toggle)
    toggle.tap()
    menu = page.locator(".menu-panel:popover-open")
    expect(menu).to_be_visible()
    return menu


def test_signed_out_pages_fit(phone: Callable[[Any], Page]) -> None:
    page = phone(None)
    for path in ("/accounts/login/", "/accounts/signup/"):
        go(page, path)
        assert_fits(page, path)
        assert_in_reach(page.locator("main button[type=submit]"))
        assert_in_reach(page.locator(".topbar").get_by_role("link", name="Sign up"))
    go(page, "/no/such/page/", status=404)
    assert_fits(page, "404")
    assert_in_reach(page.get_by_role("link", name="Back to your documents"))


def test_document_list_fits_and_log_out_is_in_the_menu(
    phone: Callable[[Any], Page], owner: Any, document: Any
) -> None:
    page = phone(owner)
    go(page, "/")
    assert_fits(page, "list")
    title = page.locator(f".doc-row[data-document-id='{document.pk}'] .doc-title")
    # The title is not cut to a few letters: it gets the row's width.
    assert title.bounding_box()["width"] >= 0.6 * page.screen_width  # type: ignore[attr-defined,index]
    assert_in_reach(page.get_by_role("button", name="New document"))
    row = page.locator(f".doc-row[data-document-id='{document.pk}']")
    assert_in_reach(row.locator("summary", has_text="Rename"))
    assert_in_reach(row.get_by_role("link", name="Delete"))
    row.locator("summary", has_text="Rename").tap()
    assert_in_reach(row.get_by_role("button", name="Save"))
    assert_fits(page, "list, renaming")

    menu = open_menu(page)
    assert_fits(page, "list, menu open")
    expect(menu).to_contain_text("Alexandria Featherstonehaugh-Montgomery")
    assert_in_reach(menu.get_by_role("button", name="Log out"))
    menu.get_by_role("button", name="Log out").tap()
    page.wait_for_url("**/accounts/login/")
    assert_fits(page, "logged out")


def test_editor_fits_and_share_history_and_log_out_are_in_the_menu(
    phone: Callable[[Any], Page], owner: Any, document: Any
) -> None:
    page = phone(owner)
    go(page, f"/documents/{document.pk}/")
    page.wait_for_function("document.body.dataset.status === 'connected'")
    assert_fits(page, "editor")
    expect(page.locator("#connection-status .status-dot")).to_be_visible()
    title = page.locator("#doc-title")
    assert title.bounding_box()["width"] >= 120  # type: ignore[index]
    # The toolbar scrolls sideways rather than widening the page.
    last_tool = page.locator("#toolbar .tool").last
    last_tool.scroll_into_view_if_needed()
    assert_in_reach(last_tool)
    assert_fits(page, "editor, toolbar scrolled")

    # Typing by touch.
    page.locator(".doc-body").tap()
    page.wait_for_function("window.__editor.isFocused")
    page.keyboard.type("On the go")
    page.wait_for_function("window.__editor.getText().includes('On the go')")

    menu = open_menu(page)
    assert_fits(page, "editor, menu open")
    for name in ("History", "Share", "Log out"):
        assert_in_reach(
            menu.get_by_role("link", name=name).or_(menu.get_by_role("button", name=name))
        )

    menu.get_by_role("button", name="Share").tap()
    dialog = page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    expect(menu).to_be_hidden()
    assert_fits(page, "share dialog")
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0
    assert box["x"] + box["width"] <= page.screen_width  # type: ignore[attr-defined]
    for control in ("Username or e-mail", "Share", "Create link", "Close"):
        assert_in_reach(
            dialog.get_by_role("button", name=control, exact=True).or_(
                dialog.get_by_placeholder(control)
            )
        )
    dialog.get_by_role("button", name="Close").tap()
    expect(dialog).to_be_hidden()

    open_menu(page).get_by_role("link", name="History").tap()
    page.wait_for_url(f"**/documents/{document.pk}/history/")
    assert_fits(page, "history")
    assert_in_reach(page.get_by_role("button", name="Save version"))
    assert_in_reach(open_menu(page).get_by_role("button", name="Log out"))


def test_confirm_delete_fits(phone: Callable[[Any], Page], owner: Any, document: Any) -> None:
    page = phone(owner)
    go(page, f"/documents/{document.pk}/delete/")
    assert_fits(page, "confirm delete")
    assert_in_reach(page.get_by_role("button", name="Move to trash"))
    assert_in_reach(page.locator("main").get_by_role("link", name="Cancel"))
