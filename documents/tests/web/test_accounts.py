"""Accounts: sign-up and log-in (with where the visitor was headed), and e-mail
addresses that must be confirmed, through the link mailed to them, before
anyone can share by them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core import signing
from django.test import Client
from django.urls import reverse

from devtools.paths import ROOT
from documents.accounts import services as accounts
from documents.accounts import tokens
from documents.models import EmailAddress, Membership, PendingShare, Role
from documents.permissions import role_for
from documents.sharing import services as sharing
from documents.tests.web.mailbox import confirm_address, last_link_to, mails_to

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner():
    return User.objects.create_user(
        username="olivia", first_name="Olivia", password="pw-olivia-123!"
    )


def sign_up(username: str, email: str = "", next_: str = "", client: Client | None = None):
    """A new visitor signs up; their client (logged in) and the response."""
    client = client or Client()
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    if next_:
        data["next"] = next_
    return client, client.post(reverse("signup"), data)


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Sign up, log in, log out


def test_signup_creates_account_and_signs_in(client):
    response = client.post(
        reverse("signup"),
        {"username": "newbie", "password1": "correct-horse-9", "password2": "correct-horse-9"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("document-list")
    assert User.objects.filter(username="newbie").exists()
    assert client.get(reverse("document-list")).status_code == 200


def test_signup_takes_an_optional_name_and_email(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "ada",
            "name": "  Ada   Lovelace ",
            "email": "ada@example.org",
            "password1": "correct-horse-9",
            "password2": "correct-horse-9",
        },
    )
    assert response.status_code == 302
    ada = User.objects.get(username="ada")
    # The address waits for its confirmation; User.email holds confirmed ones only.
    assert (ada.get_full_name(), ada.email) == ("Ada Lovelace", "")
    assert accounts.email_status(user=ada).pending == "ada@example.org"
    from documents.identity import identity

    assert identity(ada)["name"] == "Ada Lovelace"
    page = client.get(reverse("document-list")).content.decode()
    assert "Ada Lovelace" in page


def test_signup_does_not_say_an_email_is_in_use(client, owner):
    # Item 16: the account is created, without the taken address, and the
    # page says nothing about it.
    confirm_address(owner, "Olivia@Example.org")
    response = client.post(
        reverse("signup"),
        {
            "username": "copycat",
            "email": "olivia@example.org",
            "password1": "correct-horse-9",
            "password2": "correct-horse-9",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="copycat").email == ""
    owner.refresh_from_db()
    assert owner.email == "Olivia@Example.org"


def test_signup_page_says_emails_are_confirmed(client):
    page = client.get(reverse("signup")).content.decode()
    assert "We&#x27;ll confirm your e-mail address" in page


def test_signup_with_mismatched_passwords_shows_errors(client):
    response = client.post(
        reverse("signup"),
        {"username": "newbie", "password1": "correct-horse-9", "password2": "other-horse-9"},
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="newbie").exists()
    assert b"error" in response.content


def test_login_page_renders_and_logs_in(client, owner):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "olivia", "password": "pw-olivia-123!"})
    assert response.status_code == 302
    assert response["Location"] == reverse("document-list")


def test_logout_is_a_post(client, owner):
    client.force_login(owner)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("document-list")).status_code == 302


# Issue 11 item 4: e-mail addresses are confirmed before anyone can share by them.


def test_signup_mails_a_link_that_confirms_the_address(owner):
    client, response = sign_up("colleague", "Colleague@Example.org")
    assert response.status_code == 302
    colleague = User.objects.get(username="colleague")
    assert accounts.email_status(user=colleague) == accounts.EmailStatus(
        verified="", pending="Colleague@Example.org"
    )
    (message,) = mails_to("colleague@example.org")
    assert "colleague" in message.body

    confirmed = client.get(last_link_to("colleague@example.org"))
    assert confirmed.status_code == 302
    assert "Your e-mail address Colleague@Example.org is confirmed." in flashes(confirmed)
    colleague.refresh_from_db()
    assert colleague.email == "Colleague@Example.org"
    assert accounts.email_status(user=colleague).verified == "Colleague@Example.org"
    # Now sharing by the address reaches them.
    document = sharing_document(owner)
    sharing.access_grant(document=document, by=owner, who="colleague@example.org", role="viewer")
    assert role_for(colleague, document) == Role.VIEWER


def sharing_document(owner):
    from documents import services

    return services.document_create(owner=owner, title="Plans")


def test_an_unconfirmed_address_receives_no_share_and_is_not_looked_up(owner):
    # Whoever registers colleague@example.org first gets nothing shared with it.
    sign_up("mallory", "colleague@example.org")
    mallory = User.objects.get(username="mallory")
    document = sharing_document(owner)
    result = sharing.access_grant(
        document=document, by=owner, who="colleague@example.org", role="editor"
    )
    assert result is None
    assert role_for(mallory, document) is None
    listing = sharing.access_list(document=document, by=owner)
    assert listing["members"] == []
    assert listing["pending"][0]["email"] == "colleague@example.org"


def test_the_real_owner_signs_up_with_a_claimed_address_and_the_first_to_confirm_wins(owner):
    mallory_client, _ = sign_up("mallory", "colleague@example.org")
    mallory = User.objects.get(username="mallory")
    mallorys_link = last_link_to("colleague@example.org")

    # The real colleague is not blocked by the unconfirmed claim.
    client, response = sign_up("colleague", "colleague@example.org")
    assert response.status_code == 302
    colleague = User.objects.get(username="colleague")
    assert accounts.email_status(user=colleague).pending == "colleague@example.org"
    # Mallory's link, followed by the address's owner, confirms nothing for them.
    refused = client.get(mallorys_link)
    assert refused.status_code == 403
    assert "for another account" in refused.content.decode()
    assert client.get(last_link_to("colleague@example.org")).status_code == 302
    assert accounts.email_status(user=colleague).verified == "colleague@example.org"

    # Mallory's claim stays, unconfirmed and inert: even her own link (were it
    # hers to read) confirms nothing now, and a new mail tells the owner instead.
    assert accounts.email_status(user=mallory) == accounts.EmailStatus(
        verified="", pending="colleague@example.org"
    )
    too_late = mallory_client.get(mallorys_link)
    assert too_late.status_code == 400
    assert "confirmed for another account already" in too_late.content.decode()
    mallory_client.post(reverse("email"), {"action": "resend"})
    notice = mails_to("colleague@example.org")[-1]
    assert "already confirmed for another account" in notice.body
    assert "/accounts/email/confirm/" not in notice.body
    assert EmailAddress.objects.verified().matching("colleague@example.org").get().user == colleague


def test_a_share_by_an_unconfirmed_address_waits_for_whoever_confirms_it(owner):
    document = sharing_document(owner)
    sharing.access_grant(document=document, by=owner, who="New@Example.org", role="editor")
    client, _ = sign_up("newbie", "new@example.org")
    newbie = User.objects.get(username="newbie")
    assert role_for(newbie, document) is None

    confirmed = client.get(last_link_to("new@example.org"))
    assert "“Plans” was shared with you by e-mail." in flashes(confirmed)
    assert role_for(newbie, document) == Role.EDITOR
    assert not PendingShare.objects.exists()
    # The owner knows the member by the address they typed, as for any share by e-mail.
    (member,) = sharing.access_list(document=document, by=owner)["members"]
    assert (member["email"], member["username"]) == ("new@example.org", "")
    assert client.get(reverse("document-edit", kwargs={"pk": document.pk})).status_code == 200


def test_a_removal_after_a_pending_share_wins(owner):
    stranger = User.objects.create_user(username="stan", password="pw-stan-123!")
    document = sharing_document(owner)
    sharing.access_grant(document=document, by=owner, who="stan@example.org", role="editor")
    link = sharing.link_create(document=document, by=owner, role="viewer")
    sharing.link_redeem(token=link.token, user=stranger)
    sharing.access_revoke(document=document, by=owner, user_id=stranger.pk)
    confirm_address(stranger, "stan@example.org")
    assert role_for(stranger, document) is None
    assert not PendingShare.objects.exists()


def test_the_owner_can_cancel_a_pending_share(owner):
    document = sharing_document(owner)
    sharing.access_grant(document=document, by=owner, who="later@example.org", role="viewer")
    client = Client()
    client.force_login(owner)
    url = reverse("api-pending-cancel", kwargs={"pk": document.pk})
    body = client.delete(url, json.dumps({"email": "Later@Example.org"}), "application/json")
    assert body.status_code == 200 and body.json()["pending"] == []
    later = User.objects.create_user(username="later", password="pw-later-123!")
    confirm_address(later, "later@example.org")
    assert role_for(later, document) is None


def test_the_confirmation_link_expires():
    client, _ = sign_up("slow", "slow@example.org")
    link = last_link_to("slow@example.org")
    made = tokens.clock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "clock", lambda: made + tokens.MAX_AGE_SECONDS + 1)
        response = client.get(link)
    assert response.status_code == 400
    assert "This confirmation link has expired." in response.content.decode()
    assert accounts.email_status(user=User.objects.get(username="slow")).verified == ""


def test_the_confirmation_link_confirms_one_claim_only():
    client, _ = sign_up("sam", "sam@example.org")
    sam = User.objects.get(username="sam")
    claim = EmailAddress.objects.get(user=sam)
    first = last_link_to("sam@example.org")
    payload = {"c": claim.pk, "e": "sam@example.org", "t": int(tokens.clock())}
    forged = [
        # Signed by this site, for another purpose (another salt).
        signing.dumps(payload, compress=True),
        signing.dumps(payload, salt="django.contrib.sessions", compress=True),
        # Altered.
        first.rstrip("/").rsplit("/", 1)[1][:-2] + "xx",
        "not-a-token",
    ]
    for token in forged:
        response = client.get(reverse("email-confirm", kwargs={"token": token}))
        assert response.status_code == 400, token
        assert "not valid" in response.content.decode()
    # Giving another address replaces the claim: the old link confirms nothing.
    client.post(reverse("email"), {"action": "change", "email": "sam@work.example"})
    stale = client.get(first)
    assert stale.status_code == 400
    assert "not valid any more" in stale.content.decode()
    assert accounts.email_status(user=sam) == accounts.EmailStatus(
        verified="", pending="sam@work.example"
    )
    assert client.get(last_link_to("sam@work.example")).status_code == 302
    assert accounts.email_status(user=sam).verified == "sam@work.example"


def test_the_link_confirms_only_for_the_account_that_claimed(owner):
    sign_up("sam", "sam@example.org")
    link = last_link_to("sam@example.org")
    anonymous = Client().get(link)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login") + "?next=")
    other = Client()
    other.force_login(owner)
    assert other.get(link).status_code == 403
    assert accounts.email_status(user=User.objects.get(username="sam")).verified == ""


def test_an_unconfirmed_account_is_told_after_sign_up_and_log_in():
    _, response = sign_up("sam", "sam@example.org")
    (notice,) = flashes(response)
    assert "Confirm your e-mail address sam@example.org" in notice
    assert "share with you by your username only" in notice
    assert f'href="{reverse("email")}"' in notice
    client = Client()
    login = client.post(reverse("login"), {"username": "sam", "password": PASSWORD})
    assert any("Confirm your e-mail address" in m for m in flashes(login))
    page = client.get(reverse("email")).content.decode()
    assert "Waiting for confirmation: <strong>sam@example.org</strong>" in page
    # No notice without an address, nor once it is confirmed.
    sign_up("plain")
    assert (
        flashes(Client().post(reverse("login"), {"username": "plain", "password": PASSWORD})) == []
    )


def test_the_email_page_resends_the_link_within_limits():
    client, _ = sign_up("sam", "sam@example.org")
    for _n in range(accounts.MAILS_PER_ACCOUNT - 1):
        response = client.post(reverse("email"), {"action": "resend"})
        assert "We sent a confirmation link to sam@example.org." in flashes(response)
    assert len(mails_to("sam@example.org")) == accounts.MAILS_PER_ACCOUNT
    refused = client.post(reverse("email"), {"action": "resend"})
    assert any("Too many mails" in m for m in flashes(refused))
    assert len(mails_to("sam@example.org")) == accounts.MAILS_PER_ACCOUNT
    # Every link sent works.
    assert client.get(last_link_to("sam@example.org")).status_code == 302


def test_a_bad_address_on_the_email_page_is_a_400():
    client, _ = sign_up("sam")
    response = client.post(reverse("email"), {"action": "change", "email": "not an address"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_usernames_cannot_look_like_email_addresses(owner):
    _, response = sign_up("colleague@example.org")
    assert response.status_code == 200
    assert "A username cannot contain @" in response.content.decode()
    assert not User.objects.filter(username="colleague@example.org").exists()
    # An older account named like an address is not found by that address.
    legacy = User.objects.create_user(username="boss@example.org", password="pw-boss-123!")
    document = sharing_document(owner)
    assert (
        sharing.access_grant(document=document, by=owner, who="boss@example.org", role="editor")
        is None
    )
    assert role_for(legacy, document) is None


def test_signup_answers_alike_whoever_holds_the_address(owner):
    confirm_address(owner, "olivia@example.org")
    answers = []
    for username, email in (("free", "free@example.org"), ("copycat", "olivia@example.org")):
        _, response = sign_up(username, email)
        answers.append(
            (
                response.status_code,
                response["Location"],
                [m.replace(email, "<e>") for m in flashes(response)],
            )
        )
    assert answers[0] == answers[1]
    assert "/accounts/email/confirm/" in mails_to("free@example.org")[-1].body
    # The owner of the taken address is told, without a link to confirm it elsewhere.
    notice = mails_to("olivia@example.org")[-1]
    assert "copycat" in notice.body and "/accounts/email/confirm/" not in notice.body
    assert Membership.objects.count() == 0


def test_existing_addresses_become_claims_to_confirm():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("documents.migrations.0005_email_addresses")
    old = User.objects.create_user(username="old", email="Old@Example.org", password="pw-old-123!")
    migration.claim_existing_addresses(apps, None)
    old.refresh_from_db()
    assert old.email == ""
    assert accounts.email_status(user=old) == accounts.EmailStatus(
        verified="", pending="Old@example.org"
    )


MAIL_PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({k: getattr(settings, k) for k in ('EMAIL_BACKEND', 'EMAIL_HOST', "
    "'EMAIL_PORT', 'EMAIL_HOST_USER', 'EMAIL_USE_TLS', 'EMAIL_USE_SSL', 'DEFAULT_FROM_EMAIL')}))"
)


def mail_settings(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DEFAULT_FROM"))}
    result = subprocess.run(
        [sys.executable, "-c", MAIL_PROBE],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "editor_project.settings", **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_mail_goes_to_the_console_unless_smtp_is_configured():
    assert mail_settings()["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    smtp = mail_settings(
        EMAIL_HOST="smtp.example.org",
        EMAIL_PORT="465",
        EMAIL_HOST_USER="mailer",
        EMAIL_USE_SSL="true",
        DEFAULT_FROM_EMAIL="Docs <docs@example.org>",
    )
    assert smtp == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.org",
        "EMAIL_PORT": 465,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": True,
        "DEFAULT_FROM_EMAIL": "Docs <docs@example.org>",
    }


# Issue 15 item 1: a share link survives log-in and sign-up.


def test_a_share_link_leads_through_log_in_and_sign_up_and_back(owner):
    document = sharing_document(owner)
    link = sharing.link_create(document=document, by=owner, role="editor")
    share = reverse("share-link", kwargs={"token": link.token})
    client = Client()
    sent = client.get(share)
    assert sent["Location"] == f"{reverse('login')}?next={share}"
    page = client.get(sent["Location"]).content.decode()
    assert "Log in or sign up to open the document Olivia shared." in page
    signup_url = f"{reverse('signup')}?next={share}"
    assert f'href="{signup_url}"' in page
    form = client.get(signup_url).content.decode()
    assert "Sign up to open the document Olivia shared." in form
    assert f'name="next" value="{share}"' in form
    _, response = sign_up("newbie", next_=share, client=client)
    assert response.status_code == 302
    assert response["Location"] == share
    # The link still asks to confirm joining.
    assert "Join “Plans” as editor?" in client.get(share).content.decode()


def test_log_in_goes_on_to_the_share_link(owner):
    document = sharing_document(owner)
    link = sharing.link_create(document=document, by=owner, role="viewer")
    share = reverse("share-link", kwargs={"token": link.token})
    User.objects.create_user(username="bob", password=PASSWORD)
    response = Client().post(
        reverse("login"), {"username": "bob", "password": PASSWORD, "next": share}
    )
    assert response["Location"] == share


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/share/x/",
        "/\\evil.example/",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        " https://evil.example/",
    ],
)
def test_an_off_site_next_is_ignored(target):
    client = Client()
    form = client.get(reverse("signup"), {"next": target}).content.decode()
    assert "evil" not in form and "javascript" not in form
    login_page = client.get(reverse("login"), {"next": target}).content.decode()
    assert "evil" not in login_page and "javascript" not in login_page
    _, response = sign_up("newbie", next_=target, client=client)
    assert response["Location"] == reverse("document-list")
    User.objects.create_user(username="bob", password=PASSWORD)
    logged_in = Client().post(
        reverse("login"), {"username": "bob", "password": PASSWORD, "next": target}
    )
    assert logged_in["Location"] == reverse("document-list")


def test_the_sharers_name_is_escaped_and_a_dead_link_names_nobody(owner):
    owner.first_name = "<img src=x onerror=alert(1)>"
    owner.save()
    document = sharing_document(owner)
    link = sharing.link_create(document=document, by=owner, role="viewer")
    share = reverse("share-link", kwargs={"token": link.token})
    page = Client().get(reverse("login"), {"next": share}).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt; shared" in page
    assert "<img src=x" not in page
    sharing.link_revoke(document=document, by=owner, token=link.token)
    page = Client().get(reverse("login"), {"next": share}).content.decode()
    assert "shared." not in page and "Edit documents together, live." in page


def test_overlong_or_malformed_addresses_are_refused_with_400(owner):
    document = sharing_document(owner)
    client = Client()
    client.force_login(owner)
    url = reverse("api-access", kwargs={"pk": document.pk})
    for who in ("a@" + "b" * 300 + ".org", "not@an address", "@"):
        body = client.post(url, json.dumps({"user": who, "role": "viewer"}), "application/json")
        assert body.status_code == 400, who
        assert "is not an e-mail address" in body.json()["error"]
    _, response = sign_up("longmail", "a@" + "b" * 300 + ".org")
    assert response.status_code == 200
    assert not PendingShare.objects.exists() and not EmailAddress.objects.exists()


def test_the_database_keeps_one_confirmed_owner_per_address():
    # Two confirmations racing each pass the check before either commits; the
    # unique index is what makes the second fail (and email_confirm says "taken").
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    a, b = (User.objects.create_user(username=n, password=f"pw-{n}-123!") for n in ("ann", "ben"))
    EmailAddress.objects.create(user=a, email="Shared@Example.org", verified_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailAddress.objects.create(user=b, email="shared@example.org", verified_at=timezone.now())
    EmailAddress.objects.create(user=b, email="shared@example.org")  # a claim is fine
