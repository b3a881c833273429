"""Comment text: plain text only, and the @mentions in it (pure)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError

# C0/C1 controls except tab and newline, the bidi overrides that make text
# read differently from how it is stored, and lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# @username, not preceded by a word character (so e-mail addresses are not mentions).
_MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")


def clean_text(value: Any, *, limit: int, what: str, required: bool = True) -> str:
    """Plain text: a string, controls removed, newlines normalized, at most `limit` characters."""
    if not isinstance(value, str):
        raise ValidationError(f"The {what} must be text.")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text).strip()
    if required and not text:
        raise ValidationError(f"The {what} is empty.")
    if len(text) > limit:
        raise ValidationError(f"The {what} is longer than {limit} characters.")
    return text


def mentioned_usernames(body: str) -> list[str]:
    """The @usernames in a comment, in order, each once (case-insensitively)."""
    seen: dict[str, str] = {}
    for match in _MENTION.finditer(body):
        name = match.group(1).rstrip(".")
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return list(seen.values())
