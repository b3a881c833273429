"""The account menu's pages: profile (name and caret colour), password change and reset."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.test import Client
from django.urls import reverse

from documents.identity import PALETTE, identity, user_color
from documents.models import Profile
from documents.tests.web.mailbox import confirm_address, mails_to

pytestmark = [pytest.mark.django_db]

RESET_LINK = re.compile(r"https?://[^\s/]+(/accounts/reset/[^\s/]+/[^\s/]+/)")
NEW_PASSWORD = "a fresh long passphrase 42"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# The menu --------------------------------------------------------------------


def test_the_account_menu_leads_to_profile_email_and_password(personas):
    page = client_for(personas["owner"]).get(reverse("document-list")).content.decode()
    for name in ("profile", "email", "password_change"):
        assert f'href="{reverse(name)}"' in page, name


def test_the_login_page_offers_a_reset():
    page = Client().get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in page


@pytest.mark.parametrize("name", ["profile", "password_change"])
def test_account_pages_need_a_login(name):
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Profile ---------------------------------------------------------------------


def test_the_chosen_name_and_colour_are_what_others_see(personas):
    owner = personas["owner"]
    color = next(c for c in PALETTE if c != user_color(owner))  # not the derived one
    client = client_for(owner)

    response = client.post(reverse("profile"), {"name": "  Olive   Owner ", "caret_color": color})

    assert response.status_code == 302
    owner.refresh_from_db()
    assert identity(owner) == {"id": owner.pk, "name": "Olive Owner", "color": color}
    # The avatar in the menu, on every page.
    page = client.get(reverse("document-list")).content.decode()
    assert f"background-color: {color}" in page and "Olive Owner" in page


def test_automatic_goes_back_to_the_derived_colour(personas):
    owner = personas["owner"]
    derived = user_color(owner)
    Profile.objects.create(user=owner, caret_color=next(c for c in PALETTE if c != derived))
    client_for(owner).post(reverse("profile"), {"name": "", "caret_color": ""})
    owner.refresh_from_db()
    assert identity(owner) == {"id": owner.pk, "name": "owner", "color": derived}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"caret_color": "red;background:url(//evil)"}, "Select a valid choice"),
        ({"caret_color": "#123456"}, "Select a valid choice"),  # off the palette
        ({"name": "x" * 61}, "at most 60 characters"),
        ({"name": "Bob\u202eevil"}, "letters, digits, spaces and punctuation only"),
        ({"name": "Zero\u200bwidth"}, "letters, digits, spaces and punctuation only"),
    ],
)
def test_bad_profile_input_is_refused_and_nothing_is_saved(personas, data, error):
    owner = personas["owner"]
    response = client_for(owner).post(reverse("profile"), {"name": "Fine", **data})
    assert response.status_code == 400
    assert error in response.content.decode()
    owner.refresh_from_db()
    assert owner.first_name == "Owner"
    assert not Profile.objects.filter(user=owner).exists()


def test_a_colour_stored_off_the_palette_never_reaches_a_page(personas):
    owner = personas["owner"]
    Profile.objects.create(user=owner, caret_color='"><x')  # written by hand, say
    assert identity(owner)["color"] in PALETTE
    page = client_for(owner).get(reverse("profile")).content.decode()
    assert '"><x' not in page


def test_names_are_escaped_on_the_profile_page(personas):
    owner = personas["owner"]
    client = client_for(owner)
    client.post(reverse("profile"), {"name": "<script>alert(1)</script>", "caret_color": ""})
    page = client.get(reverse("profile")).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# Password change -------------------------------------------------------------


def test_changing_the_password(personas):
    owner = personas["owner"]
    owner.set_password("the old passphrase 1")
    owner.save()
    client = client_for(owner)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert "Change password" in page.content.decode()

    wrong = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert "Your old password was entered incorrectly" in wrong.content.decode()

    response = client.post(
        reverse("password_change"),
        {
            "old_password": "the old passphrase 1",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("profile")
    assert "Your password is changed" in response.content.decode()
    assert authenticate(username="owner", password=NEW_PASSWORD) is not None
    # This session stays signed in.
    assert client.get(reverse("profile")).status_code == 200


# Password reset --------------------------------------------------------------


def ask_reset(address: str) -> str:
    response = Client().post(reverse("password_reset"), {"email": address}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_a_reset_is_mailed_to_a_confirmed_address_and_sets_the_password(personas):
    owner = personas["owner"]
    confirm_address(owner, "olive@example.org")
    mail.outbox.clear()

    page = ask_reset("OLIVE@example.org")

    assert "Check your mail" in page
    (sent,) = mails_to("olive@example.org")
    assert sent.subject == "Reset your password"
    assert '"owner"' in sent.body
    found = RESET_LINK.search(sent.body)
    assert found, sent.body
    client = Client()
    form = client.get(found.group(1), follow=True)
    assert "Set a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Password set" in done.content.decode()
    assert authenticate(username="owner", password=NEW_PASSWORD) is not None
    # The link works once.
    again = Client().get(found.group(1), follow=True)
    assert "This link does not work" in again.content.decode()


def test_an_unconfirmed_or_unknown_address_gets_no_mail_and_the_same_page(personas):
    from documents.accounts import services as accounts

    owner = personas["owner"]
    accounts.email_claim(user=owner, email="claimed@example.org", absolute=lambda p: p)
    owner.email = "claimed@example.org"  # even if User.email said so
    owner.save()
    mail.outbox.clear()

    unconfirmed = ask_reset("claimed@example.org")
    unknown = ask_reset("nobody@example.org")

    assert mail.outbox == []
    assert unconfirmed == unknown


def test_resets_to_one_address_are_limited(personas):
    confirm_address(personas["owner"], "olive@example.org")
    mail.outbox.clear()
    for _ in range(8):
        page = ask_reset("olive@example.org")
        assert "Check your mail" in page
    assert len(mails_to("olive@example.org")) == 5
