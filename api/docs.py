"""The Swagger UI page under a strict Content-Security-Policy: inline code is allowed by its hash only."""

import base64
import hashlib
import re
from typing import Any

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin

CDN = "https://cdn.jsdelivr.net"
_INLINE = re.compile(rb"<(script|style)(?:\s[^>]*)?>(.*?)</\1>", re.DOTALL)
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def _hash(source: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source).digest()).decode() + "'"


def policy_for(html: bytes) -> str:
    """A CSP that lets this page run its own inline script and style, and the Swagger bundle from the CDN."""
    scripts: list[str] = []
    styles: list[str] = []
    for match in _INLINE.finditer(html):
        kind, body = match.group(1), match.group(2)
        if body.strip():
            (scripts if kind == b"script" else styles).append(_hash(body))
    return (
        f"default-src 'none'; script-src {CDN} {' '.join(scripts)}; style-src {CDN} {' '.join(styles)}; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


class StrictSwagger(SwaggerRenderPlugin):
    """Swagger UI that remembers the policy its last rendered page needs."""

    def __init__(self) -> None:
        super().__init__(favicon="")
        self.content_security_policy = API_POLICY

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        html = super().render(request, openapi_schema)
        self.content_security_policy = policy_for(html)
        return html
