"""Routes for version history, its page and its JSON API; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.history import views

urlpatterns = [
    path("documents/<uuid:pk>/history/", views.history_page, name="document-history"),
    path(
        "documents/<uuid:pk>/history/<int:snapshot_id>/restore/",
        views.history_restore,
        name="document-history-restore",
    ),
    path(
        "api/documents/<uuid:pk>/history/",
        views.api_history,
        name="api-document-history",
    ),
    path(
        "api/documents/<uuid:pk>/history/<int:snapshot_id>/",
        views.api_history_detail,
        name="api-document-history-detail",
    ),
    path(
        "api/documents/<uuid:pk>/history/<int:snapshot_id>/restore/",
        views.api_history_restore,
        name="api-document-history-restore",
    ),
]
