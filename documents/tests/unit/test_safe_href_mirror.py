"""The editor's link allow-list (frontend/src/safehref.js) agrees with the server's (safe_href).

The browser refuses a link before it enters the document; the exports refuse
it again on the way out. Both judge the same cases here, in Node and in Python,
so a rule changed on one side only fails this test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from documents.export.links import safe_href
from documents.tests.unit.test_safe_href import ALLOWED, DANGEROUS

SAFEHREF_JS = Path(__file__).resolve().parents[3] / "frontend" / "src" / "safehref.js"

# Beyond the server's own cases: what a pasted or typed link looks like.
MORE = [
    "https://example.com/a b",
    "HTTPS://EXAMPLE.COM",
    "mailto:?subject=hi",
    "tel:",
    "ftp://example.com",
    "sms:+15550100",
    "localhost:8000",
    "ja\u0000vascript:alert(1)",
    "\u3000https://example.com",
    "https://example.com/\u200b",
    "java\u00adscript:alert(1)",
    "\U0001f600:x",
    "x:y",
    "1http:x",
    "\\\\",
    "/",
    "a//b",
]

# Reads JSON cases on stdin, prints [safeHref(case), ...] as JSON.
_SCRIPT = """
import { readFileSync } from 'node:fs'
const { safeHref } = await import(process.argv[1])
const cases = JSON.parse(readFileSync(0, 'utf8'))
process.stdout.write(JSON.stringify(cases.map(safeHref)))
"""


def _in_node(cases: list[object]) -> list[str | None]:
    node = shutil.which("node")
    assert node is not None, "node is needed (it also builds the frontend)"
    result = subprocess.run(
        [node, "--input-type=module", "-e", _SCRIPT, SAFEHREF_JS.as_uri()],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    answers: list[str | None] = json.loads(result.stdout)
    return answers


def test_browser_and_server_judge_every_href_alike() -> None:
    cases: list[object] = [*DANGEROUS, *(raw for raw, _ in ALLOWED), *MORE, None, 1, ["x"]]
    assert _in_node(cases) == [safe_href(case) for case in cases]


def test_the_cases_cover_both_answers() -> None:
    answers = [safe_href(case) for case in MORE]
    assert None in answers
    assert any(answer is not None for answer in answers)
