"""Keystroke-to-remote-render latency between two real browsers, through a real server.

    .venv/bin/python bench/browser_latency.py                   # 100 keystrokes, 100 ms apart
    .venv/bin/python bench/browser_latency.py --keys 300 --interval-ms 50

Starts its own Daphne (`python -m editor_project.server.serve`) on a throwaway PostgreSQL database
(bench_lat_<random>, dropped at the end) and a throwaway channel-layer prefix in Redis, signs two
users into two Chromium contexts (Playwright, Debian's /usr/bin/chromium), opens one document in
both, and presses keys in A one at a time. For each key:

  sent      A's own keydown listener stamps the key as the page receives it;
  rendered  a MutationObserver on B's .ProseMirror stamps the moment B's document text grows to
            include the key (the DOM is updated; the pixels follow on the next frame);
  painted   the first animation frame after that (an upper bound for "on screen").

Both pages stamp with performance.timeOrigin + performance.now(): one browser process, one
machine clock, so the two pages' stamps are directly comparable at sub-millisecond resolution.
The services are those of bench/run.py (BENCH_PG_HOST, BENCH_PG_PORT, BENCH_PG_USER,
BENCH_REDIS_URL), and this script reuses its helpers in bench/services.py. It needs the editor
bundle in documents/static/editor (`make frontend`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import log  # noqa: E402  (needs ROOT on sys.path)
from bench.services import (  # noqa: E402
    PG_HOST,
    PG_PORT,
    PG_USER,
    REDIS_URL,
    Server,
    create_database,
    delete_redis_keys,
    drop_database,
    setup_django,
)
from devtools.child_server import server_environment  # noqa: E402
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

KEYS = "abcdefghijklmnopqrstuvwxyz"

# In A: stamp every keydown the editor gets (capture phase: before ProseMirror handles it).
SENDER_JS = """
() => {
  window.__sent = []
  document.addEventListener('keydown', () => {
    window.__sent.push(performance.timeOrigin + performance.now())
  }, true)
}
"""

# In B: stamp the moment the document's text reaches each new length, and the next frame.
RECEIVER_JS = """
() => {
  window.__rendered = {}
  window.__painted = {}
  let seen = window.__editor.getText().length
  const root = document.querySelector('.ProseMirror')
  new MutationObserver(() => {
    const now = performance.timeOrigin + performance.now()
    const length = window.__editor.getText().length
    if (length <= seen) return
    const fresh = []
    for (let n = seen + 1; n <= length; n++) {
      window.__rendered[n] = now
      fresh.push(n)
    }
    seen = length
    requestAnimationFrame(() => {
      const painted = performance.timeOrigin + performance.now()
      for (const n of fresh) window.__painted[n] = painted
    })
  }).observe(root, { childList: true, subtree: true, characterData: true })
  return seen
}
"""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return ordered[int(rank) - 1]


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):6.1f}   p95 {percentile(values, 95):6.1f}"
        f"   max {max(values):6.1f}   mean {statistics.fmean(values):6.1f}"
        f"   min {min(values):6.1f}  ms"
    )


def record_error(errors: list[str], exc: Exception) -> None:
    errors.append(str(exc))


def prepare(db_url: str, prefix: str) -> tuple[str, list[dict[str, str]]]:
    """Migrate, create Alice (owner) and Bob (editor) and a document; their session cookies."""
    setup_django(db_url, prefix)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connections
    from django.test import Client

    from documents import services
    from documents.models import Membership, Role

    user_model = get_user_model()
    alice, bob = (
        user_model.objects.create(
            username=name.lower(), first_name=name, password=make_password(None)
        )
        for name in ("Alice", "Bob")
    )
    document = services.document_create(owner=alice, title="Latency")
    Membership.objects.create(document=document, user=bob, role=Role.EDITOR)
    cookies = []
    for user in (alice, bob):
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookies.append({"name": name, "value": client.cookies[name].value})
    connections.close_all()  # Playwright's event loop makes the ORM unusable from here on
    return str(document.pk), cookies


def measure(
    origin: str, document_id: str, cookies: list[dict[str, str]], args: argparse.Namespace
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        for cookie in cookies:
            # As the e2e tests do: Playwright evaluates its probes as strings, which the
            # strict Content-Security-Policy (no unsafe-eval) would refuse.
            context = browser.new_context(viewport={"width": 1200, "height": 800}, bypass_csp=True)
            context.add_cookies([{"name": cookie["name"], "value": cookie["value"], "url": origin}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", functools.partial(record_error, errors))
            page.goto(f"{origin}/documents/{document_id}/")
            page.wait_for_function("document.body.dataset.status === 'connected'")
            pages.append((page, errors))
        (a, a_errors), (b, b_errors) = pages
        a.evaluate(SENDER_JS)
        a.evaluate("window.__editor.commands.focus('end')")
        a.wait_for_function("window.__editor.isFocused")
        start_length = int(b.evaluate(RECEIVER_JS))

        total = args.warmup + args.keys
        interval = args.interval_ms / 1000
        next_at = time.monotonic()
        for i in range(total):
            a.keyboard.press(KEYS[i % len(KEYS)])
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        b.wait_for_function(
            "n => window.__editor.getText().length >= n && window.__painted[n] !== undefined",
            arg=start_length + total,
            timeout=30_000,
        )
        sent = a.evaluate("window.__sent")
        rendered = b.evaluate("window.__rendered")
        painted = b.evaluate("window.__painted")
        same = a.evaluate("window.__editor.getText()") == b.evaluate("window.__editor.getText()")
        browser_version = browser.version
        browser.close()

    if len(sent) != total:
        raise RuntimeError(f"A saw {len(sent)} keydowns for {total} keys pressed")
    dom, frame = [], []
    for i in range(args.warmup, total):
        n = str(start_length + i + 1)
        dom.append(rendered[n] - sent[i])
        frame.append(painted[n] - sent[i])
    return {
        "dom": dom,
        "frame": frame,
        "converged": same,
        "errors": a_errors + b_errors,
        "browser": browser_version,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=100, help="keystrokes measured")
    parser.add_argument("--warmup", type=int, default=5, help="keystrokes before measuring")
    parser.add_argument("--interval-ms", type=float, default=100, help="time between keys")
    parser.add_argument("--keep", action="store_true", help="keep the database and the log")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if not (ROOT / "documents" / "static" / "editor" / "editor.js").is_file():
        parser.error("the editor bundle is missing: run `make frontend`")

    run_id = uuid.uuid4().hex[:8]
    db_name = f"bench_lat_{run_id}"
    db_url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}"
    prefix = f"benchlat{run_id}"
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-lat-{run_id}-"))
    log(f"database {db_name}, channel prefix {prefix}, server log in {tmp}")
    create_database(db_name)
    server: Server | None = None
    try:
        document_id, cookies = prepare(db_url, prefix)
        # The test hooks put the editor on `window`, where the pages' probes read it.
        env = {**server_environment(db_url, REDIS_URL, prefix), "LOG_LEVEL": "INFO"}
        server = Server(env, tmp / "server.log").start()
        log(f"server on {server.url}; typing {args.warmup} + {args.keys} keys")
        result = measure(server.url, document_id, cookies, args)
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            log(f"kept database {db_name} and {tmp}")
        else:
            drop_database(db_name)
            delete_redis_keys(prefix)
            shutil.rmtree(tmp, ignore_errors=True)

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"browser latency: {args.keys} keystrokes in A ({args.warmup} warm-up keys not counted),"
        f" one every {args.interval_ms:g} ms, rendered in B"
    )
    print(
        f"  Chromium {result['browser']}, Python {platform.python_version()},"
        f" {os.cpu_count()} cores, load average {load}"
    )
    print(f"  keydown in A -> DOM updated in B:  {summary(result['dom'])}")
    print(f"  keydown in A -> next frame in B:   {summary(result['frame'])}")
    print(f"  editors converged: {'yes' if result['converged'] else 'NO'}")
    if result["errors"]:
        print(f"  page errors: {result['errors']}")
    if args.json:
        figures = {
            key: {
                "p50": percentile(result[key], 50),
                "p95": percentile(result[key], 95),
                "max": max(result[key]),
            }
            for key in ("dom", "frame")
        }
        figures.update(
            keys=args.keys,
            converged=result["converged"],
            errors=result["errors"],
            browser=result["browser"],
        )
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if result["converged"] and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
