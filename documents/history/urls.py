"""Routes for exports and version history; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.history import views as history_views

urlpatterns = [
    path(
        "documents/<uuid:pk>/export.<str:fmt>",
        history_views.document_export,
        name="document-export",
    ),
    path("documents/<uuid:pk>/history/", history_views.history_page, name="document-history"),
    path(
        "documents/<uuid:pk>/history/<int:snapshot_id>/restore/",
        history_views.history_restore,
        name="document-history-restore",
    ),
    path(
        "api/documents/<uuid:pk>/history/",
        history_views.api_history,
        name="api-document-history",
    ),
    path(
        "api/documents/<uuid:pk>/history/<int:snapshot_id>/",
        history_views.api_history_detail,
        name="api-document-history-detail",
    ),
    path(
        "api/documents/<uuid:pk>/history/<int:snapshot_id>/restore/",
        history_views.api_history_restore,
        name="api-document-history-restore",
    ),
]
