"""Where the repository's parts are, for test and benchmark tooling."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
YCLIENTS = ROOT / "yclients"
