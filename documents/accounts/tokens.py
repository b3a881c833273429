"""E-mail confirmation links: signed, expiring, good for one claim of one address only.

A token names the claim (an EmailAddress row) and the address it was sent to,
with the time it was made, signed with SECRET_KEY under a salt of its own: it
cannot be forged, stretched, or replayed as any other signed value of the
project (a session, a password reset). It confirms nothing once the claim is
gone or its address has changed, and nothing after MAX_AGE.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core import signing

# A purpose of its own: no other signed value of the project verifies as a token.
SALT = "documents.accounts.email-confirmation"
MAX_AGE_SECONDS = 3 * 24 * 3600

# Replaced in tests to move time on without sleeping.
clock: Callable[[], float] = time.time


class InvalidToken(Exception):
    """The token was not made here, was altered, or has expired."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a valid token says: which claim, and the address it was sent to."""

    claim_id: int
    email: str


def token_make(*, claim_id: int, email: str) -> str:
    """A token confirming `email` for the claim `claim_id`."""
    payload = {"c": claim_id, "e": email.lower(), "t": int(clock())}
    return signing.dumps(payload, salt=SALT, compress=True)


def token_read(token: str) -> Confirmation:
    """The claim a token confirms; InvalidToken if it is forged, altered or expired."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise InvalidToken("This confirmation link is not valid.") from None
    try:
        claim_id, email, made = int(payload["c"]), str(payload["e"]), int(payload["t"])
    except (KeyError, TypeError, ValueError):
        raise InvalidToken("This confirmation link is not valid.") from None
    if clock() - made > MAX_AGE_SECONDS:
        raise InvalidToken("This confirmation link has expired.", expired=True)
    return Confirmation(claim_id=claim_id, email=email)
