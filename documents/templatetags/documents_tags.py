"""Template helpers for avatars and times."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from documents.identity import identity
from documents.models import TITLE_MAX_LENGTH

register = template.Library()


@register.simple_tag
def title_max_length() -> int:
    """The longest title a document may have, for inputs' maxlength."""
    return TITLE_MAX_LENGTH


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


@register.filter
def edited_ago(moment: datetime | None) -> str:
    """'just now' for the last minute, then '5 minutes ago', '2 days ago'."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"
