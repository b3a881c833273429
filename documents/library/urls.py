"""Routes of the documents home; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.library import views

urlpatterns = [
    path("documents/<uuid:pk>/star/", views.document_star, name="document-star"),
    path("documents/<uuid:pk>/move/", views.document_move, name="document-move"),
    path("documents/<uuid:pk>/duplicate/", views.document_duplicate, name="document-duplicate"),
    path(
        "documents/new/from/<slug:key>/",
        views.document_from_template,
        name="document-from-template",
    ),
    path("folders/new/", views.folder_create, name="folder-create"),
    path("folders/<int:folder_id>/rename/", views.folder_rename, name="folder-rename"),
    path("folders/<int:folder_id>/delete/", views.folder_delete, name="folder-delete"),
    path("trash/", views.trash_list, name="document-trash"),
    path("trash/<uuid:pk>/restore/", views.trash_restore, name="document-restore"),
    path("trash/<uuid:pk>/delete/", views.trash_delete_forever, name="document-delete-forever"),
]
