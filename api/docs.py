"""The API docs page (Swagger UI) and its assets, all served by the API itself: nothing from another host."""

import base64
import hashlib
import re
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.response import File

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
ASSET_TYPES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
# Browsers may keep the assets a day; a new Swagger UI comes with a new release of the API.
ASSET_CACHE_CONTROL = "public, max-age=86400"
_INLINE = re.compile(rb"<(script|style)(?:\s[^>]*)?>(.*?)</\1>", re.DOTALL)

# validatorUrl: null keeps Swagger UI from asking swagger.io to validate the document (a badge from another host).
PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TaskFlow API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/schema/swagger/assets/swagger-ui.css">
<script src="/schema/swagger/assets/swagger-ui-bundle.js"></script>
</head>
<body>
<div id="swagger-ui"></div>
<script>
window.ui = SwaggerUIBundle({
  url: "/schema/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
</script>
</body>
</html>
"""


def _hash(source: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source).digest()).decode() + "'"


def policy_for(html: bytes) -> str:
    """A CSP that lets this page run its own inline scripts and styles (by hash) and load the rest from 'self'."""
    scripts: list[str] = ["'self'"]
    styles: list[str] = ["'self'"]
    for match in _INLINE.finditer(html):
        kind, body = match.group(1), match.group(2)
        if body.strip():
            (scripts if kind == b"script" else styles).append(_hash(body))
    return (
        f"default-src 'none'; script-src {' '.join(scripts)}; style-src {' '.join(styles)}; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def swagger_ui_assets() -> Path:
    """The directory of Swagger UI's dist files that the swagger-ui-py package installs (found, not imported)."""
    spec = find_spec("swagger_ui")
    locations = list(spec.submodule_search_locations or ()) if spec else []
    directory = Path(locations[0]) / "static" if locations else None
    if directory is None or not all((directory / name).is_file() for name in ASSET_TYPES):
        raise RuntimeError("Swagger UI's files are missing: reinstall TaskFlow with its dependencies (swagger-ui-py).")
    return directory


class OfflineSwagger(OpenAPIRenderPlugin):
    """Swagger UI at /schema/swagger, its page and assets served by the API, under a strict CSP."""

    def __init__(self) -> None:
        super().__init__(path="/swagger")
        self.assets = swagger_ui_assets()
        self.content_security_policy = policy_for(PAGE)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return PAGE

    def receive_router(self, router: Router) -> None:
        assets = self.assets

        @get("/swagger/assets/{name:str}", sync_to_thread=False, include_in_schema=False)
        def asset(name: FromPath[str]) -> File:
            if name not in ASSET_TYPES:
                raise NotFoundException()
            return File(
                assets / name,
                media_type=ASSET_TYPES[name],
                content_disposition_type="inline",
                filename=name,
                headers={"Cache-Control": ASSET_CACHE_CONTROL},
            )

        router.register(asset)
