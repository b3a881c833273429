"""ASGI entry point: HTTP through Django, WebSockets through the document consumer."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "editor_project.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from documents.realtime.auth import auth_middleware_stack  # noqa: E402
from documents.realtime.origin import SameOriginValidator  # noqa: E402
from documents.realtime.outage import DatabaseOutageGuard  # noqa: E402
from documents.realtime.routing import websocket_urlpatterns  # noqa: E402
from documents.realtime.wire import WireMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": WireMiddleware(
            SameOriginValidator(
                DatabaseOutageGuard(auth_middleware_stack(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)
