"""How this project launches Chromium: Debian's build, headless, with no background traffic.

`playwright install` cannot download browsers here, and without the
background-networking flags Chromium keeps dialling hosts the machine cannot
reach. Shared by the end-to-end fixtures and the browser latency script.
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
