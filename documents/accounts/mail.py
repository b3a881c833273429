"""The mails sent to an address someone gave: a confirmation link, a notice
that the address is confirmed on another account already, or a password reset
link (to a confirmed address only).

Both go to the address, never to the account that asked, so the account learns
nothing from which one was sent. EMAIL_BACKEND decides how they leave (the
console by default, SMTP when EMAIL_HOST is set).
"""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

log = logging.getLogger(__name__)


def _send(*, to: str, subject: str, template: str, context: dict[str, str]) -> bool:
    body = render_to_string(template, context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except (smtplib.SMTPException, OSError) as failed:
        # The account works without the mail; the e-mail page offers to resend.
        log.warning("could not send %s: %s", template, failed)
        return False
    return True


def confirmation_send(*, to: str, username: str, link: str) -> bool:
    """Mail the link that confirms `to` for the account `username`; False if it could not go."""
    return _send(
        to=to,
        subject="Confirm your e-mail address",
        template="accounts/mail/confirm.txt",
        context={"username": username, "link": link, "email": to},
    )


def taken_notice_send(*, to: str, username: str, login_url: str) -> bool:
    """Tell the owner of `to` that another account asked for their confirmed address."""
    return _send(
        to=to,
        subject="Your e-mail address was given for another account",
        template="accounts/mail/taken.txt",
        context={"username": username, "login_url": login_url, "email": to},
    )


def password_reset_send(*, to: str, username: str, link: str) -> bool:
    """Mail the link that sets a new password for `username` to its confirmed address `to`."""
    return _send(
        to=to,
        subject="Reset your password",
        template="accounts/mail/password_reset.txt",
        context={"username": username, "link": link, "email": to},
    )
