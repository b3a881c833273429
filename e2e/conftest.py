"""Browser fixtures: Debian's Chromium, two users in two contexts, a fresh document per test.

The server is real Daphne on PostgreSQL and Redis, shared by the tests that
start it with the same settings (the root conftest's `shared_server`); a test
that kills or restarts its server is marked `private_server`. Each user gets
their own browser context: two tabs of one context would sync through
BroadcastChannel and never test the server.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page

from devtools.child_server import ChildServer
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.server_pool import LentServer
from documents.tests.support.servers import server_env
from documents.tests.support.sessions import password_hash, session_cookie

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium: `playwright install` cannot download browsers here."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse ORM calls from fixtures, test bodies and the database
    # teardown. Session-wide because that teardown outlives function fixtures;
    # only e2e tests (collected last) run under it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def off_loop(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Run a service in a worker thread: services that broadcast on the channel
    layer use async_to_sync, which refuses the thread Playwright's loop runs in."""
    from django.db import connection

    def call() -> Any:
        try:
            return fn(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


@dataclass
class Peer:
    """One user in their own browser context, with helpers to drive the editor."""

    name: str
    user: Any
    context: BrowserContext
    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)

    def open(self, document: Any) -> Peer:
        """Open the document's editor and wait until it is synced with the server."""
        self.page.goto(f"{self.base_url}/documents/{document.pk}/")
        self.wait_status("connected")
        return self

    def wait_status(self, status: str, timeout: float = 10_000) -> None:
        self.page.wait_for_function(
            "s => document.body.dataset.status === s", arg=status, timeout=timeout
        )

    def wait_saved(self, timeout: float = 10_000) -> None:
        """Connected, and the server has answered for every local change."""
        self.page.wait_for_function(
            "() => document.body.dataset.status === 'connected'"
            " && document.body.dataset.unsynced === 'false'",
            timeout=timeout,
        )

    def focus_end(self) -> None:
        # Tiptap's focus lands a frame later; keys typed before it are lost.
        self.page.evaluate("window.__editor.commands.focus('end')")
        self.page.wait_for_function("window.__editor.isFocused")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def press(self, keys: str) -> None:
        self.page.keyboard.press(keys)

    def text(self) -> str:
        return str(self.page.evaluate("window.__editor.getText()"))

    def wait_text_contains(self, fragment: str, timeout: float = 5_000) -> None:
        self.page.wait_for_function(
            "s => window.__editor && window.__editor.getText().includes(s)",
            arg=fragment,
            timeout=timeout,
        )

    def wait_text_lacks(self, fragment: str, timeout: float = 5_000) -> None:
        self.page.wait_for_function(
            "s => window.__editor && !window.__editor.getText().includes(s)",
            arg=fragment,
            timeout=timeout,
        )

    def avatar_names(self) -> list[str]:
        return list(
            self.page.eval_on_selector_all(
                "#avatars .avatar", "els => els.map(e => e.dataset.name)"
            )
        )

    def screenshot(self, path: Path) -> None:
        # The test may have closed the page on purpose.
        with contextlib.suppress(Error):
            self.page.screenshot(path=str(path), full_page=True)


def _watch(peer: Peer) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            peer.errors.append(f"console: {message.text}")

    peer.page.on("console", on_console)
    peer.page.on("pageerror", lambda exc: peer.errors.append(f"pageerror: {exc}"))


@pytest.fixture
def server_settings() -> dict[str, int | float]:
    """`documents.conf` overrides for this test's server (small limits, say).
    A test module overrides this fixture, or a test parametrizes it."""
    return {}


@pytest.fixture
def daphne_server(
    shared_server: Callable[[dict[str, str]], ChildServer | LentServer],
    server_settings: dict[str, int | float],
) -> ChildServer | LentServer:
    """A real Daphne server started with `server_settings`, shared with the tests
    that use the same (the root conftest's `shared_server`)."""
    return shared_server(server_env(**server_settings))


@pytest.fixture
def make_user(django_user_model: Any) -> Callable[[str], Any]:
    def make(name: str) -> Any:
        return django_user_model.objects.create(
            username=name.lower(), first_name=name, password=password_hash()
        )

    return make


@pytest.fixture
def make_peer(
    daphne_server: Any,
    new_context: Callable[..., BrowserContext],
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[Any], Peer]]:
    """Log a user in, in a browser context of their own."""
    peers: list[Peer] = []

    def make(user: Any) -> Peer:
        # Playwright's wait_for_function polls with eval, which the site's CSP
        # refuses; e2e/test_csp.py drives its own contexts under the policy.
        context = new_context(viewport={"width": 1200, "height": 800}, bypass_csp=True)
        name, _, value = session_cookie(user).partition("=")
        context.add_cookies([{"name": name, "value": value, "url": daphne_server.url}])
        page = context.new_page()
        page.set_default_timeout(10_000)
        peer = Peer(user.first_name or user.username, user, context, page, daphne_server.url)
        _watch(peer)
        peers.append(peer)
        return peer

    yield make

    reports = request.node.stash.get(_REPORTS, {})
    if any(report.failed for report in reports.values()):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        for peer in peers:
            peer.screenshot(ARTIFACTS / f"{stem}-{peer.name}.png")
            if peer.errors:
                (ARTIFACTS / f"{stem}-{peer.name}-console.txt").write_text("\n".join(peer.errors))
        # What the server printed during this test (a shared server's output
        # from the other tests left out).
        (ARTIFACTS / f"{stem}-server.log").write_text(daphne_server.log())
    uncaught = [f"{peer.name}: {e}" for peer in peers for e in peer.errors if "pageerror" in e]
    assert not uncaught, "uncaught exceptions in the page:\n" + "\n".join(uncaught)


@pytest.fixture
def alice(make_user: Callable[[str], Any], make_peer: Callable[[Any], Peer]) -> Peer:
    return make_peer(make_user("Alice"))


@pytest.fixture
def bob(make_user: Callable[[str], Any], make_peer: Callable[[Any], Peer]) -> Peer:
    return make_peer(make_user("Bob"))


@pytest.fixture
def doc(alice: Peer, bob: Peer, request: pytest.FixtureRequest) -> Any:
    """A fresh document owned by Alice and shared with Bob as an editor."""
    from documents import services
    from documents.models import Membership, Role

    document = services.document_create(owner=alice.user, title=request.node.name[:200])
    Membership.objects.create(document=document, user=bob.user, role=Role.EDITOR)
    return document


@pytest.fixture
def both(alice: Peer, bob: Peer, doc: Any) -> tuple[Peer, Peer]:
    """Alice and Bob with the document open and synced."""
    alice.open(doc)
    bob.open(doc)
    return alice, bob
