"""Fixtures for the page and API tests."""

from __future__ import annotations

import uuid

import pytest

from documents.web import throttle


@pytest.fixture(autouse=True)
def fresh_throttles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counters of this test's own: logins and sign-ups from 127.0.0.1 add up
    over a run otherwise, and over runs in a shared Redis (they expire by themselves)."""
    monkeypatch.setattr(throttle, "NAMESPACE", f"throttle-test-{uuid.uuid4().hex}:")
