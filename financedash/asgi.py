"""The one application for HTTP and WebSocket (uvicorn, or gunicorn with uvicorn workers).

HTTP goes to Django as before (whitenoise serves static files from inside it). WebSocket
goes to Channels: the session of the cookie is read (AuthMiddlewareStack), browsers' Origin
must be one of ALLOWED_HOSTS (no other site's page may open a socket with the user's
cookie), and the query token is taken out of the scope before the server can log it.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "financedash.settings")
# Django first: it sets up the apps the routing below imports.
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from financedash.warmup import warm  # noqa: E402
from portfolios import live  # noqa: E402


class BrowserOriginValidator(OriginValidator):
    """Channels' AllowedHostsOriginValidator, except that a handshake without an Origin
    header is let through: browsers always send one (that is the cross-site case this
    guards against), scripts usually do not, and they authenticate by token anyway."""

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or self.validate_origin(parsed_origin)


def websocket_application():
    hosts = settings.ALLOWED_HOSTS or (
        ["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
    )
    return BrowserOriginValidator(AuthMiddlewareStack(URLRouter(live.websocket_urlpatterns)), hosts)


application = live.hide_query_token(
    ProtocolTypeRouter({"http": django_application, "websocket": websocket_application()})
)

warm()
