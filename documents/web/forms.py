"""Forms for naming documents."""

from __future__ import annotations

from django import forms

from documents.models import TITLE_MAX_LENGTH


class DocumentTitleForm(forms.Form):
    title = forms.CharField(
        max_length=TITLE_MAX_LENGTH,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "Untitled document", "autocomplete": "off"}),
    )
