"""The profile page: the name and caret colour others see on carets and avatars."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from documents.identity import PALETTE, chosen_color, display_name
from documents.models import Profile

NAME_MAX_LENGTH = 60
AUTOMATIC = ""


class ProfileForm(forms.Form):
    name = forms.CharField(
        label="Display name",
        max_length=NAME_MAX_LENGTH,
        required=False,
        help_text="Shown on your caret and avatar; your username when empty.",
    )
    caret_color = forms.ChoiceField(
        label="Caret colour",
        # The palette only: readable on white, and nothing else reaches a style attribute.
        choices=[(AUTOMATIC, "Automatic"), *((color, color) for color in PALETTE)],
        required=False,
        widget=forms.RadioSelect,
    )

    def clean_name(self) -> str:
        name = " ".join(str(self.cleaned_data["name"]).split())
        # Control and format characters (bidi overrides, zero-width joiners) would
        # let one name pass for another's on a caret.
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in name):
            raise forms.ValidationError("Use letters, digits, spaces and punctuation only.")
        return name


@transaction.atomic
def profile_update(*, user: Any, name: str, caret_color: str) -> None:
    """Save the name (User.first_name, as sign-up does) and the caret colour."""
    user.first_name = name
    user.last_name = ""
    user.save(update_fields=["first_name", "last_name"])
    Profile.objects.update_or_create(user=user, defaults={"caret_color": caret_color})
    # The profile identity() cached on this user must not hide the new colour.
    user._state.fields_cache.pop("profile", None)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """GET shows the name and colour; POST saves them (seen on carets at the next connect)."""
    user: Any = request.user
    initial = {"name": user.get_full_name(), "caret_color": chosen_color(user)}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            profile_update(
                user=user,
                name=form.cleaned_data["name"],
                caret_color=form.cleaned_data["caret_color"] or AUTOMATIC,
            )
            messages.success(request, f"Saved. Others now see you as “{display_name(user)}”.")
            return redirect("profile")
        return render(request, "accounts/profile.html", {"form": form}, status=400)
    return render(request, "accounts/profile.html", {"form": form})
