"""Routes for sharing: the owner's JSON API and share links; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.sharing import views

urlpatterns = [
    path("api/documents/<uuid:pk>/access/", views.access, name="api-access"),
    path(
        "api/documents/<uuid:pk>/access/<int:user_id>/",
        views.access_member,
        name="api-access-member",
    ),
    path("api/documents/<uuid:pk>/pending/", views.pending_cancel, name="api-pending-cancel"),
    path("api/documents/<uuid:pk>/links/", views.links, name="api-links"),
    path(
        "api/documents/<uuid:pk>/links/<str:token>/",
        views.link_revoke,
        name="api-link-revoke",
    ),
    path("share/<str:token>/", views.share_link, name="share-link"),
]
