"""Confirmation mails in Django's locmem outbox, and confirming an address the real way."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.test import Client

from documents.accounts import services as accounts

LINK = re.compile(r"https?://[^\s/]+(/accounts/email/confirm/[^\s/]+/)")


def mails_to(address: str) -> list[Any]:
    """The mails sent to `address`, oldest first."""
    return [m for m in mail.outbox if [a.lower() for a in m.to] == [address.lower()]]


def confirmation_path(message: Any) -> str:
    """The path of the confirmation link in a mail."""
    found = LINK.search(message.body)
    assert found, f"no confirmation link in: {message.body}"
    return found.group(1)


def last_link_to(address: str) -> str:
    """The confirmation link of the newest mail to `address`."""
    sent = mails_to(address)
    assert sent, f"no mail to {address}"
    return confirmation_path(sent[-1])


def confirm_address(user: Any, address: str) -> None:
    """Give `user` the address and follow the link mailed to it, logged in as them."""
    accounts.email_claim(user=user, email=address, absolute=lambda p: f"http://testserver{p}")
    client = Client()
    client.force_login(user)
    response = client.get(last_link_to(address))
    assert response.status_code == 302, response.content.decode()
    user.refresh_from_db()
