"""Routes for the pages and the documents' JSON API; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.web import api, views

urlpatterns = [
    path("", views.document_list, name="document-list"),
    path("documents/new/", views.document_create, name="document-create"),
    path("documents/<uuid:pk>/", views.document_edit, name="document-edit"),
    path("documents/<uuid:pk>/rename/", views.document_rename, name="document-rename"),
    path("documents/<uuid:pk>/delete/", views.document_delete, name="document-delete"),
    path("api/documents/", api.document_list, name="api-document-list"),
    path("api/documents/<uuid:pk>/", api.document_detail, name="api-document-detail"),
]
