"""Routes for comments and notifications; included by documents/urls.py."""

from __future__ import annotations

from django.urls import path

from documents.comments import api

urlpatterns = [
    path("api/documents/<uuid:pk>/comments/", api.threads, name="api-comments"),
    path(
        "api/documents/<uuid:pk>/comments/<int:thread_id>/replies/",
        api.replies,
        name="api-comment-replies",
    ),
    path(
        "api/documents/<uuid:pk>/comments/<int:thread_id>/resolve/",
        api.resolve,
        name="api-comment-resolve",
    ),
    path(
        "api/documents/<uuid:pk>/comments/<int:thread_id>/<int:comment_id>/",
        api.comment,
        name="api-comment",
    ),
    path("api/notifications/", api.notification_list, name="api-notifications"),
    path("api/notifications/read/", api.notifications_read, name="api-notifications-read"),
    path("accounts/notifications/", api.settings_page, name="comment-settings"),
]
