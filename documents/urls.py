"""Every route of the app, one include per part."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("documents.web.urls")),
    path("", include("documents.sharing.urls")),
    path("", include("documents.history.urls")),
    path("", include("documents.export.urls")),
    path("", include("documents.library.urls")),
]
