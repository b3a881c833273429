"""Routes for the pages and the documents' JSON API; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.library import views as library_views
from documents.web import api, views

urlpatterns = [
    # The list and its API are the home's (documents/library/): views, search, pages.
    path("", library_views.home, name="document-list"),
    path("documents/new/", views.document_create, name="document-create"),
    path("documents/<uuid:pk>/", views.document_edit, name="document-edit"),
    path("documents/<uuid:pk>/rename/", views.document_rename, name="document-rename"),
    path("documents/<uuid:pk>/delete/", views.document_delete, name="document-delete"),
    path("api/documents/", library_views.home_api, name="api-document-list"),
    path("api/documents/<uuid:pk>/", api.document_detail, name="api-document-detail"),
]
