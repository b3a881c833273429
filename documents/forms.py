"""Forms for signing up and naming documents."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from documents.services import TITLE_MAX_LENGTH


class SignupForm(UserCreationForm):
    """A username and a password; the username is what collaborators see."""

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        fields = ("username",)


class DocumentTitleForm(forms.Form):
    title = forms.CharField(
        max_length=TITLE_MAX_LENGTH,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "Untitled document", "autocomplete": "off"}),
    )
