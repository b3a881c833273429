from __future__ import annotations

from django.urls import path

from documents.sharing import views as sharing_views

urlpatterns = [
    path("api/documents/<uuid:pk>/access/", sharing_views.access, name="api-access"),
    path(
        "api/documents/<uuid:pk>/access/<int:user_id>/",
        sharing_views.access_member,
        name="api-access-member",
    ),
    path("api/documents/<uuid:pk>/links/", sharing_views.links, name="api-links"),
    path(
        "api/documents/<uuid:pk>/links/<str:token>/",
        sharing_views.link_revoke,
        name="api-link-revoke",
    ),
    path("share/<str:token>/", sharing_views.share_link, name="share-link"),
]
