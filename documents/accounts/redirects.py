"""Where to go after logging in or signing up: same-site paths only, and what they lead to."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

from documents.identity import display_name
from documents.sharing import services as sharing


def next_url(request: HttpRequest, default: str = "") -> str:
    """The `next` of the form or query if it stays on this site, else `default`."""
    target = str(request.POST.get("next") or request.GET.get("next") or "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def share_link_sharer(target: str) -> str | None:
    """The name of whoever shared the document, when `target` is an active share link."""
    try:
        match = resolve(urlsplit(target).path)
    except Resolver404:
        return None
    if match.url_name != "share-link":
        return None
    link = sharing.link_for(token=str(match.kwargs.get("token", "")))
    if link is None:
        return None
    return display_name(link.created_by or link.document.owner)
