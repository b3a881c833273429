"""Test users' passwords and logged-in sessions."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.test import Client

PASSWORD = "correct-horse-battery-staple"


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once per session: the real hasher is slow on purpose."""
    return make_password(PASSWORD)


def session_cookie(user: Any) -> str:
    """A logged-in session for `user`, as a Cookie header value."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
