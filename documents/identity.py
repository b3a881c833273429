"""How a user appears to others: display name and a stable colour, decided server-side."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ObjectDoesNotExist

# Readable on white, distinct from each other.
PALETTE = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#0f9aa8",
    "#d6338a",
    "#6b8e23",
    "#9a6324",
    "#800000",
    "#1f6f8b",
    "#5b3cc4",
)


def display_name(user: Any) -> str:
    """The name shown on carets and avatars."""
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return str(full or user.get_username())


def user_color(user: Any) -> str:
    """The colour the user chose on their profile, else one derived from their id.

    Either way it stays the same across sessions and processes. Reads the
    profile (one query, then cached on the user): call it where the ORM may run.
    """
    return chosen_color(user) or user_color_by_id(user.pk)


def user_color_by_id(user_id: Any) -> str:
    """The colour derived from the user's id, for a user who chose none."""
    digest = hashlib.sha256(f"user:{user_id}".encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def chosen_color(user: Any) -> str:
    """The palette colour the user picked, or "" for none."""
    try:
        profile = user.profile
    except (AttributeError, ObjectDoesNotExist):  # anonymous, or never chose
        return ""
    return palette_color(profile.caret_color)


def palette_color(stored: Any) -> str:
    """A profile's stored colour if it is one of the palette's, else "".

    Only palette colours reach a page or a caret, whatever the row holds.
    """
    color = str(stored or "")
    return color if color in PALETTE else ""


def identity(user: Any, chosen: str | None = None) -> dict[str, Any]:
    """The `user` field of the user's awareness state.

    `chosen`: the profile's colour, when the caller read it already ("" for none).
    """
    picked = chosen_color(user) if chosen is None else palette_color(chosen)
    return {"id": user.pk, "name": display_name(user), "color": picked or user_color_by_id(user.pk)}
