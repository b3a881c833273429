"""Forms for signing up and naming documents."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from documents import conf
from documents.models import TITLE_MAX_LENGTH
from documents.web import throttle


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
        label="E-mail (optional)",
        required=False,
        help_text="We'll confirm your e-mail address; then others can share with you by it.",
    )

    # Set by clean_email: the address typed is another account's, so it was
    # not attached (for e-mail verification to pick up).
    email_withheld: bool = False

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        fields = ("username", "name", "email")

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        # Sharing by e-mail must find one person, not several, yet saying an
        # address is taken would tell anyone whose it is. So a taken address is
        # accepted and silently not attached (`email_withheld`); whoever owns
        # it confirms it through e-mail verification.
        self.email_withheld = bool(
            email and get_user_model().objects.filter(email__iexact=email).exists()
        )
        return "" if self.email_withheld else email

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=False)
        user.first_name = self.cleaned_data["name"]
        user.email = self.cleaned_data["email"]
        if commit:
            user.save()
        return user


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


class DocumentTitleForm(forms.Form):
    title = forms.CharField(
        max_length=TITLE_MAX_LENGTH,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "Untitled document", "autocomplete": "off"}),
    )
