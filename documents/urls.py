"""Every route of the app, one include per part."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("documents.web.urls")),
    path("", include("documents.sharing.urls")),
    path("", include("documents.history.urls")),
    path("", include("documents.export.urls")),
    path("", include("documents.images.urls")),
    path("", include("documents.imports.urls")),
    path("", include("documents.comments.urls")),
    path("", include("documents.library.urls")),
]
