"""Forms for signing up, logging in (with failed attempts limited) and giving an e-mail address."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from documents import conf
from documents.web import throttle

EMAIL_HELP = "We'll confirm your e-mail address; then others can share with you by it."


class SignupForm(UserCreationForm):
    """A username and password, and optionally the name collaborators see on
    your caret and the e-mail address owners can share documents with."""

    name = forms.CharField(
        label="Your name (optional)",
        max_length=150,
        required=False,
        help_text="Shown on your caret and avatar; your username otherwise.",
    )
    email = forms.EmailField(
        label="E-mail (optional)", required=False, max_length=254, help_text=EMAIL_HELP
    )

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        fields = ("username", "name", "email")

    def clean_username(self) -> str:
        username: str = super().clean_username()
        # Sharing reads anything with an @ as an e-mail address: a username that
        # looked like one could stand in for someone's address.
        if "@" in username:
            raise forms.ValidationError(
                "A username cannot contain @; give your e-mail address below.", code="at_sign"
            )
        return username

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def clean_email(self) -> str:
        # Whether the address is anyone else's is never checked here: saying so
        # would tell anyone whose it is. The address is claimed, unconfirmed,
        # whatever the answer (see documents/accounts/services.py).
        return str(self.cleaned_data["email"]).strip()

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=False)
        user.first_name = self.cleaned_data["name"]
        # User.email holds a confirmed address only; the claim is kept apart.
        user.email = ""
        if commit:
            user.save()
        return user


class EmailForm(forms.Form):
    """A new address for the account, to be confirmed."""

    email = forms.EmailField(label="E-mail address", max_length=254, help_text=EMAIL_HELP)

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip()


class ThrottledLoginMixin:
    """Refuse logins past LOGIN_FAILURES_PER_ACCOUNT or _PER_ADDRESS in a window.

    Every attempt is counted before the password is checked (so parallel
    guesses cannot pass the limit together) and given back when it succeeds.
    Once over, the right password is refused too: the guessing would go on.
    """

    request: Any
    data: Any

    def clean(self) -> dict[str, Any]:
        window = int(conf.get("LOGIN_WINDOW_SECONDS"))
        username = str(self.data.get("username", "")).strip().casefold()
        address = throttle.client_address(self.request) if self.request else "unknown"
        counters = [
            throttle.hit(
                scope="login-account",
                subject=username,
                limit=int(conf.get("LOGIN_FAILURES_PER_ACCOUNT")),
                window=window,
            ),
            throttle.hit(
                scope="login-address",
                subject=address,
                limit=int(conf.get("LOGIN_FAILURES_PER_ADDRESS")),
                window=window,
            ),
        ]
        over = [c for c in counters if c.exceeded]
        if over:
            if self.request is not None:
                throttle.mark_refused(self.request)
            wait = throttle.wait_message(max(c.retry_after for c in over))
            raise forms.ValidationError(
                f"Too many failed login attempts. Try again in {wait}.", code="throttled"
            )
        # A wrong password raises here and stays counted; a login is given back.
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        for counter in counters:
            throttle.release(counter)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The site's login form, with failed attempts limited."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's login form, with failed attempts limited."""
