"""Who is online in which document, across server processes (placeholder)."""

from __future__ import annotations

from typing import Any
from uuid import UUID


def online_users(document_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """The users present in each document: {"id", "name", "color"} per user."""
    return {}
