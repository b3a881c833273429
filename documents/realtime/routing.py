from __future__ import annotations

from django.urls import re_path

from documents.realtime.consumer import DocumentConsumer

_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

websocket_urlpatterns = [
    re_path(rf"^ws/documents/(?P<document_id>{_UUID})/?$", DocumentConsumer.as_asgi()),
]
