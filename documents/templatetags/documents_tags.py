"""Template helpers for avatars."""

from __future__ import annotations

import re
from typing import Any

from django import template

from documents.identity import identity

register = template.Library()


@register.filter
def initials(name: Any) -> str:
    """'Ada Lovelace' -> 'AL', 'alice' -> 'AL', 'bob.smith' -> 'BS'."""
    parts = [p for p in re.split(r"[\s._@-]+", str(name or "").strip()) if p]
    if not parts:
        return "?"
    if len(parts) == 1:
        return parts[0][:2].upper()
    return (parts[0][0] + parts[-1][0]).upper()


@register.simple_tag
def identity_of(user: Any) -> dict[str, Any]:
    """The user's display name and colour, as shown on carets."""
    return identity(user)
