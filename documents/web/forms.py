"""Forms for signing up and naming documents."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from documents.models import TITLE_MAX_LENGTH


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
        help_text="Lets others share documents with you by e-mail.",
    )

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        fields = ("username", "name", "email")

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        # Sharing by e-mail must find one person, not several.
        if email and get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists.")
        return email

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=False)
        user.first_name = self.cleaned_data["name"]
        user.email = self.cleaned_data["email"]
        if commit:
            user.save()
        return user


class DocumentTitleForm(forms.Form):
    title = forms.CharField(
        max_length=TITLE_MAX_LENGTH,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "Untitled document", "autocomplete": "off"}),
    )
