"""Routes for imports; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.imports import views

urlpatterns = [
    path("documents/import/", views.document_import, name="document-import"),
]
