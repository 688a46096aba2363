"""Pure ASGI middleware: request and correlation ids on every request and response, and security headers."""

import re
import uuid

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

_SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff")]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def request_ids(app: ASGIApp) -> ASGIApp:
    """Echo a sane X-Request-ID or mint one; keep a client's X-Correlation-ID, else use the request id."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given.decode() if given and _SANE_ID.match(given) else uuid.uuid4().hex
        correlation = _header(scope, b"x-correlation-id")
        correlation_id = correlation.decode() if correlation and _SANE_ID.match(correlation) else request_id
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["correlation_id"] = correlation_id

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(_SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_ids)

    return middleware
