"""Routes for downloads; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.export import views

urlpatterns = [
    path("documents/<uuid:pk>/export.<str:fmt>", views.document_export, name="document-export"),
]
