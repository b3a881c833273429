"""Routes for images; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.images import views

urlpatterns = [
    path("api/documents/<uuid:pk>/images/", views.image_upload, name="api-document-images"),
    path("documents/<uuid:pk>/images/<uuid:image_id>/", views.image_serve, name="document-image"),
]
