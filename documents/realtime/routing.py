from __future__ import annotations

from django.urls import re_path

from documents.realtime.consumer import DocumentConsumer

_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

websocket_urlpatterns = [
    re_path(rf"^ws/documents/(?P<document_id>{_UUID})/?$", DocumentConsumer.as_asgi()),
]

# The comments' JSON events socket (documents/comments/consumer.py), apart from the Yjs one.
from documents.comments.consumer import EventsConsumer  # noqa: E402

websocket_urlpatterns.append(re_path(r"^ws/events/?$", EventsConsumer.as_asgi()))
