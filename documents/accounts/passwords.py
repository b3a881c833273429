"""Changing a password, and resetting a forgotten one by mail to a confirmed address.

Django's views with this site's templates. A reset is mailed only to an
address its account has confirmed (documents/accounts/services.py), through
the same mail set-up as confirmation links (documents/accounts/mail.py), and
the page says the same whether or not any account has the address. A new
password ends the user's other sessions and open sockets
(documents/realtime/sessions.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpResponse
from django.urls import reverse, reverse_lazy

from documents.accounts import mail
from documents.accounts.services import MAIL_WINDOW_SECONDS, MAILS_PER_ADDRESS
from documents.models import EmailAddress
from documents.web import throttle


class ConfirmedAddressResetForm(PasswordResetForm):
    """Django's reset form, for confirmed addresses only, with our mail and limits."""

    def get_users(self, email: str) -> Iterator[Any]:
        """Active users with a usable password who confirmed `email` (at most one)."""
        owners = EmailAddress.objects.verified().matching(email).values("user_id")
        for user in get_user_model()._default_manager.filter(pk__in=owners, is_active=True):
            if user.has_usable_password():
                yield user

    def save(self, *args: Any, **kwargs: Any) -> None:
        email = self.cleaned_data["email"]
        # Counted whoever holds the address: the limit says nothing about it.
        counter = throttle.hit(
            scope="password-reset-address",
            subject=str(email).strip().lower(),
            limit=MAILS_PER_ADDRESS,
            window=MAIL_WINDOW_SECONDS,
        )
        if counter.exceeded:
            return  # the page says the same either way
        super().save(*args, **kwargs)

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        path = reverse(
            "password_reset_confirm", kwargs={"uidb64": context["uid"], "token": context["token"]}
        )
        link = f"{context['protocol']}://{context['domain']}{path}"
        mail.password_reset_send(to=to_email, username=context["user"].get_username(), link=link)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("profile")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(
            self.request, "Your password is changed. Your other sessions have been signed out."
        )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = ConfirmedAddressResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
