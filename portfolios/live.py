"""The live socket `WS /api/v1/ws/portfolio/{id}` (ARCHITECTURE section 7): a snapshot of the
portfolio on connect, its figures again whenever they change, and quotes of the symbols
the client subscribes to.

What changes them is published by portfolios.push: the write path after each commit, the
quote refresh (Celery beat's task, or, without a worker, the in-process refresh below that
runs only while sockets are open). Figures are recomputed here for the socket's own user
with the same serializer as GET /api/v1/portfolios/{id}.

Authentication: `Authorization: Bearer <access>`, `?token=<access>` (for clients that
cannot set headers, browsers among them; the server's access logs never see it, see
financedash.asgi) or the session cookie. A socket is accepted and then closed with 4401
(unauthenticated, or its token expired while open) or 4404 (not the user's portfolio),
because a refusal before accepting reaches the client as a bare HTTP 403 without a code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import parse_qs, parse_qsl, urlencode

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.urls import path
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from marketdata import quotes
from marketdata.providers.base import is_valid_symbol, normalize_symbol
from portfolios import push
from portfolios.api import portfolio_body
from portfolios.models import Portfolio

logger = logging.getLogger(__name__)

UNAUTHENTICATED = 4401
NOT_FOUND = 4404
# A client message is a subscription list at most: anything longer is refused unread.
MAX_MESSAGE_CHARS = 16 * 1024


def _token(scope) -> str | None:
    """The access token of the Authorization header, else of the query string."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode("latin1").split()
            if len(parts) == 2 and parts[0] == "Bearer":
                return parts[1]
            return ""  # a header that is not a bearer token: refused, not ignored
    if "query_token" in scope:  # moved there by hide_query_token
        return scope["query_token"]
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get("token")
    return values[0] if values else None


def _authenticate(scope):
    """(user or None, expiry as a Unix time or None). A token that is given must be valid:
    a wrong one is not rescued by a session cookie."""
    raw = _token(scope)
    if raw is None:
        user = scope.get("user")
        return (user, None) if user is not None and user.is_authenticated else (None, None)
    auth = JWTAuthentication()
    try:
        token = auth.get_validated_token(raw.encode())
        user = auth.get_user(token)
    except (InvalidToken, TokenError, AuthenticationFailed):
        return None, None
    if not user.is_active:
        return None, None
    return user, token.get("exp")


def _body(user, portfolio_id: int) -> dict | None:
    portfolio = Portfolio.objects.owned_by(user).filter(pk=portfolio_id).first()
    return None if portfolio is None else json.loads(json.dumps(portfolio_body(portfolio)))


def _current_quotes(symbols: list[str]) -> list[dict]:
    found = quotes.get_quotes_lenient(symbols)
    return [quotes.pack(found[s]) for s in symbols if s in found]


class PortfolioConsumer(AsyncJsonWebsocketConsumer):
    portfolio_id: int
    user = None
    expires: float | None = None

    async def connect(self):
        self.portfolio_id = int(self.scope["url_route"]["kwargs"]["pk"])
        self.symbols: set[str] = set()
        self.tasks: set[asyncio.Task] = set()
        self.dirty = False
        self.pushing = False
        self.joined = False
        user, self.expires = await database_sync_to_async(_authenticate)(self.scope)
        await self.accept()
        if user is None:
            await self.close(code=UNAUTHENTICATED)
            return
        self.user = user
        # Join before the snapshot: a change made meanwhile is pushed, never lost.
        await self.channel_layer.group_add(
            push.portfolio_group(self.portfolio_id), self.channel_name
        )
        self.joined = True
        body = await database_sync_to_async(_body)(user, self.portfolio_id)
        if body is None:
            await self.close(code=NOT_FOUND)
            return
        await self.send_json({"type": "snapshot", "portfolio": body})
        self._spawn(self._keepalive())
        refresher.add(self)

    async def disconnect(self, code):
        refresher.discard(self)
        for task in list(getattr(self, "tasks", ())):
            task.cancel()
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(
                push.portfolio_group(self.portfolio_id), self.channel_name
            )
        for symbol in getattr(self, "symbols", ()):
            await self.channel_layer.group_discard(push.symbol_group(symbol), self.channel_name)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _keepalive(self):
        """A message every LIVE_PING_SECONDS keeps proxies from dropping an idle socket and
        lets the browser notice a dead one; a token that expires closes the socket."""
        while True:
            wait = settings.LIVE_PING_SECONDS
            if self.expires is not None:
                wait = max(0, min(wait, self.expires - time.time()))
            await asyncio.sleep(wait)
            if self.expires is not None and time.time() >= self.expires:
                await self.close(code=UNAUTHENTICATED)
                return
            await self.send_json({"type": "ping"})

    # --- From the client ----------------------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if self.user is None:
            return
        if text_data is None:
            await self._error("Send JSON text messages.")
            return
        if len(text_data) > MAX_MESSAGE_CHARS:
            await self._error(f"Message too large (at most {MAX_MESSAGE_CHARS} characters).")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error('Not JSON: send e.g. {"action": "subscribe", "symbols": ["AAPL"]}.')
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("action") not in (
            "subscribe",
            "unsubscribe",
        ):
            await self._error('"action" must be "subscribe" or "unsubscribe".')
            return
        symbols = content.get("symbols")
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            await self._error('"symbols" must be a list of ticker symbols.')
            return
        wanted = list(dict.fromkeys(normalize_symbol(s) for s in symbols))
        bad = [s for s in wanted if not is_valid_symbol(s)]
        if bad:
            await self._error(f"Not ticker symbols: {', '.join(repr(s) for s in bad[:5])}.")
            return
        if content["action"] == "subscribe":
            await self._subscribe(wanted)
        else:
            await self._unsubscribe(wanted)

    async def _subscribe(self, wanted: list[str]) -> None:
        new = [s for s in wanted if s not in self.symbols]
        cap = settings.LIVE_MAX_SYMBOLS
        if len(self.symbols) + len(new) > cap:
            # All or nothing: the client learns exactly what it follows.
            await self._error(
                f"At most {cap} symbols per socket: {len(self.symbols)} subscribed, "
                f"{len(new)} more asked for. Nothing was subscribed."
            )
            return
        for symbol in new:
            await self.channel_layer.group_add(push.symbol_group(symbol), self.channel_name)
        self.symbols.update(new)
        await self.send_json({"type": "subscribed", "symbols": sorted(self.symbols)})
        refresher.add(self)
        # The current quote straight away, rather than at the next refresh.
        for body in await database_sync_to_async(_current_quotes)(new) if new else []:
            await self.send_json({"type": "quote", **body})

    async def _unsubscribe(self, wanted: list[str]) -> None:
        for symbol in [s for s in wanted if s in self.symbols]:
            await self.channel_layer.group_discard(push.symbol_group(symbol), self.channel_name)
            self.symbols.discard(symbol)
        await self.send_json({"type": "subscribed", "symbols": sorted(self.symbols)})

    async def _error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})

    # --- From the channel layer (portfolios.push) ----------------------------------------
    async def portfolio_changed(self, event):
        # Recomputed in a task of its own, so that a burst of changes (an import of many
        # rows commits one change per holding) coalesces into one or two messages.
        self.dirty = True
        if not self.pushing:
            self.pushing = True
            self._spawn(self._push_figures())

    async def _push_figures(self):
        try:
            while self.dirty:
                self.dirty = False
                body = await database_sync_to_async(_body)(self.user, self.portfolio_id)
                if body is None:  # deleted meanwhile
                    await self.close(code=NOT_FOUND)
                    return
                await self.send_json({"type": "portfolio", "portfolio": body})
        except Exception:
            logger.exception("Live figures of portfolio %s not sent", self.portfolio_id)
        finally:
            self.pushing = False

    async def quote_message(self, event):
        quote = event["quote"]
        if quote["symbol"] in self.symbols:
            await self.send_json({"type": "quote", **quote})


class Refresher:
    """The embedded default's quote refresh (no Celery worker): one asyncio task per
    process, started by the first open socket and stopped with the last, refreshing every
    LIVE_REFRESH_SECONDS what the open sockets follow."""

    def __init__(self):
        self.consumers: set[PortfolioConsumer] = set()
        self.task: asyncio.Task | None = None

    def add(self, consumer: PortfolioConsumer) -> None:
        if not settings.LIVE_EMBEDDED_REFRESH:
            return
        self.consumers.add(consumer)
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(self._run())

    def discard(self, consumer: PortfolioConsumer) -> None:
        self.consumers.discard(consumer)
        if not self.consumers and self.task is not None:
            self.task.cancel()
            self.task = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    async def _run(self):
        while self.consumers:
            await asyncio.sleep(settings.LIVE_REFRESH_SECONDS)
            symbols = set().union(*(c.symbols for c in self.consumers))
            portfolios = {c.portfolio_id for c in self.consumers}
            try:
                await database_sync_to_async(push.refresh)(symbols, portfolios)
            except Exception:
                logger.exception("Live quote refresh failed")


refresher = Refresher()

websocket_urlpatterns = [
    path("api/v1/ws/portfolio/<int:pk>", PortfolioConsumer.as_asgi(), name="ws-portfolio"),
]


def hide_query_token(app):
    """ASGI middleware, outermost: moves `?token=` out of a WebSocket's query string into
    scope["query_token"]. The server logs the connection with the scope it passed in
    (uvicorn's "WebSocket /path?query" [accepted] line), so the token is removed from that
    very dict, before anything can log it."""

    async def middleware(scope, receive, send):
        if scope["type"] == "websocket" and b"token=" in scope.get("query_string", b""):
            pairs = parse_qsl(scope["query_string"].decode("latin1"), keep_blank_values=True)
            tokens = [value for name, value in pairs if name == "token"]
            scope["query_token"] = tokens[0] if tokens else None
            scope["query_string"] = urlencode(
                [(name, value) for name, value in pairs if name != "token"]
            ).encode("latin1")
        return await app(scope, receive, send)

    return middleware
