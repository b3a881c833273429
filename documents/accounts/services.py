"""E-mail addresses: claiming one, mailing its confirmation link, confirming it.

The rules, and why:

- Giving an address (at sign-up or later) only claims it. A claim grants
  nothing and finds nobody: sharing by e-mail looks up confirmed addresses
  only, and a share with an address nobody has confirmed waits for whoever
  confirms it (documents/sharing/services.py).
- Any number of accounts may claim one address, so whoever typed someone
  else's address first cannot lock its owner out. The first account to follow
  the link mailed to the address owns it (the database's unique index decides
  a race). The other accounts' claims stay unconfirmed and inert: removing
  them would tell those accounts the address is someone's. A mail asked for
  on such a claim tells the address's owner instead of carrying a link.
- The link confirms only while logged in as the account that claimed the
  address, so someone who types your address cannot have you confirm it for
  them by clicking a link in a mail you did not expect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from documents.accounts import mail, tokens
from documents.models import Document, EmailAddress
from documents.sharing import services as sharing
from documents.web import throttle

# Mails asked for per account and per address in each fixed window: enough to
# retry a lost mail, too few to flood someone's inbox.
MAILS_PER_ACCOUNT = 5
MAILS_PER_ADDRESS = 5
MAIL_WINDOW_SECONDS = 3600

TAKEN = "This address is confirmed for another account already."
WRONG_ACCOUNT = "This confirmation link is for another account: log in as that account to use it."
STALE = "This confirmation link is not valid any more; send yourself a new one."


class ConfirmationError(Exception):
    """A confirmation link that cannot confirm: forged, expired, stale, taken, someone else's."""

    def __init__(self, message: str, *, wrong_account: bool = False) -> None:
        super().__init__(message)
        self.wrong_account = wrong_account


@dataclass(frozen=True, slots=True)
class EmailStatus:
    """A user's confirmed address and the claim waiting for confirmation ("" for none)."""

    verified: str
    pending: str


@dataclass(frozen=True, slots=True)
class MailSent:
    """Whether a mail left, and if the limit held it back, for how long."""

    sent: bool
    retry_after: int = 0


def email_status(*, user: Any) -> EmailStatus:
    """The user's confirmed address and pending claim."""
    verified = pending = ""
    for address in EmailAddress.objects.filter(user=user).order_by("id"):
        if address.verified_at:
            verified = address.email
        else:
            pending = address.email
    return EmailStatus(verified=verified, pending=pending)


def _pending_claim(user: Any) -> EmailAddress | None:
    return EmailAddress.objects.filter(user=user, verified_at__isnull=True).first()


def email_claim(*, user: Any, email: str, absolute: Callable[[str], str]) -> MailSent:
    """Give `email` for the account (replacing a claim waiting before) and mail it a link.

    `absolute` makes a path into a full URL for the mail (the request's
    build_absolute_uri). Nothing changes when it is the account's confirmed
    address already.
    """
    email = email.strip()
    with transaction.atomic():
        if EmailAddress.objects.verified().matching(email).filter(user=user).exists():
            return MailSent(sent=False)
        EmailAddress.objects.filter(user=user, verified_at__isnull=True).exclude(
            email__iexact=email
        ).delete()
        claim = EmailAddress.objects.filter(user=user).matching(email).first()
        if claim is None:
            try:
                with transaction.atomic():
                    claim = EmailAddress.objects.create(user=user, email=email)
            except IntegrityError:  # the same claim, made at the same moment
                claim = EmailAddress.objects.filter(user=user).matching(email).get()
    return _mail(claim=claim, absolute=absolute)


def email_resend(*, user: Any, absolute: Callable[[str], str]) -> MailSent:
    """Mail the pending claim's link again; not sent when there is none or past the limits."""
    claim = _pending_claim(user)
    if claim is None:
        return MailSent(sent=False)
    return _mail(claim=claim, absolute=absolute)


def _mail(*, claim: EmailAddress, absolute: Callable[[str], str]) -> MailSent:
    counters = [
        throttle.hit(
            scope="email-mail-account",
            subject=str(claim.user_id),
            limit=MAILS_PER_ACCOUNT,
            window=MAIL_WINDOW_SECONDS,
        ),
        throttle.hit(
            scope="email-mail-address",
            subject=claim.email.lower(),
            limit=MAILS_PER_ADDRESS,
            window=MAIL_WINDOW_SECONDS,
        ),
    ]
    over = [c for c in counters if c.exceeded]
    if over:
        return MailSent(sent=False, retry_after=max(c.retry_after for c in over))
    username = claim.user.get_username()
    taken = EmailAddress.objects.verified().matching(claim.email).exclude(user=claim.user_id)
    if taken.exists():
        sent = mail.taken_notice_send(
            to=claim.email, username=username, login_url=absolute(reverse("login"))
        )
    else:
        token = tokens.token_make(claim_id=claim.pk, email=claim.email)
        link = absolute(reverse("email-confirm", kwargs={"token": token}))
        sent = mail.confirmation_send(to=claim.email, username=username, link=link)
    return MailSent(sent=sent)


@dataclass(frozen=True, slots=True)
class Confirmed:
    """The address confirmed, and the documents shared with it that are now the user's."""

    email: str
    documents: list[Document]


def email_confirm(*, user: Any, token: str) -> Confirmed:
    """Confirm the address the token was mailed to for `user`; ConfirmationError if it cannot."""
    try:
        confirmation = tokens.token_read(token)
    except tokens.InvalidToken as invalid:
        raise ConfirmationError(str(invalid)) from None
    try:
        with transaction.atomic():
            claim = (
                EmailAddress.objects.select_for_update().filter(pk=confirmation.claim_id).first()
            )
            if claim is None or claim.email.lower() != confirmation.email:
                # Replaced by another address since the mail was sent.
                raise ConfirmationError(STALE)
            if claim.user_id != user.pk:
                raise ConfirmationError(WRONG_ACCOUNT, wrong_account=True)
            if claim.verified_at is not None:
                return Confirmed(email=claim.email, documents=[])
            if EmailAddress.objects.verified().matching(claim.email).exists():
                raise ConfirmationError(TAKEN)
            # One confirmed address per account: the new one replaces the old.
            EmailAddress.objects.verified().filter(user=user).delete()
            claim.verified_at = timezone.now()
            claim.save(update_fields=["verified_at"])
            user.email = claim.email
            user.save(update_fields=["email"])
            documents = sharing.pending_shares_grant(user=user, email=claim.email)
    except IntegrityError:
        # Another account confirmed the address at the same moment, and first.
        raise ConfirmationError(TAKEN) from None
    return Confirmed(email=claim.email, documents=documents)
