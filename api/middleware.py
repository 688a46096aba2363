"""Request and correlation ids for every request and response, and the security and caching headers."""

import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from api.docs import API_POLICY

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_IDS = "request_ids"


def _header(scope: Scope | dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            text = bytes(value).decode("latin-1")
            return text if _SANE_ID.match(text) else None
    return None


def request_ids(scope: Scope | dict[str, Any]) -> tuple[str, str]:
    """(request id, correlation id): a sane client X-Request-ID is echoed, else one is minted;
    a sane X-Correlation-ID is kept, else the request id stands in."""
    state = scope.setdefault("state", {})
    ids: tuple[str, str] | None = state.get(_IDS)
    if ids is None:
        request_id = _header(scope, b"x-request-id") or secrets.token_hex(16)  # 128 random bits, as a uuid4's hex
        ids = state[_IDS] = (request_id, _header(scope, b"x-correlation-id") or request_id)
    return ids


def response_headers(page_policies: Mapping[str, str]) -> Callable[[Message, Scope], Awaitable[None]]:
    """A before-send hook for every response, routing errors included: the request id and security headers
    (`page_policies`: the CSP of the pages under each path prefix, the docs and the console; API_POLICY elsewhere)."""

    def policy(path: str) -> str:
        return next((page for prefix, page in page_policies.items() if path.startswith(prefix)), API_POLICY)

    async def add(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        headers["X-Request-ID"] = request_ids(scope)[0]
        headers["X-Content-Type-Options"] = "nosniff"
        path = scope.get("path", "")
        headers["Content-Security-Policy"] = policy(path)
        # Nearly every response carries a user's data (tasks, tokens, the log); the few that do not (health, docs)
        # lose nothing by not being cached either. Only the docs' static assets say otherwise, themselves.
        if "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        headers["Referrer-Policy"] = "no-referrer"

    return add
