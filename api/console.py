"""The auditors' console at /console: the files of api/console/, served by the API under a strict CSP."""

from pathlib import Path

from litestar import Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

CONSOLE_FILES = Path(__file__).resolve().parent / "console"
CONSOLE_PATH = "/console"
CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)
MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
# The files change with a release of the API: a browser asks again each time (they are small).
HEADERS = {"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}


def console_files() -> dict[str, tuple[bytes, str]]:
    """Every file of the console, by name: its bytes and media type (read once, when the app is made)."""
    found = {
        path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
        for path in sorted(CONSOLE_FILES.glob("*"))
        if path.suffix in MEDIA_TYPES
    }
    if "index.html" not in found:
        raise RuntimeError("The console's files are missing: reinstall TaskFlow (api/console is package data).")
    return found


def console_router() -> Router:
    """GET /console (the page) and GET /console/{name} (its scripts, styles and icon)."""
    files = console_files()

    def serve(name: str) -> Response[bytes]:
        if name not in files:
            raise NotFoundException()
        content, media_type = files[name]
        return Response(content, media_type=media_type, headers=HEADERS)

    @get(sync_to_thread=False)
    def page() -> Response[bytes]:
        return serve("index.html")

    @get("/{name:str}", sync_to_thread=False)
    def asset(name: FromPath[str]) -> Response[bytes]:
        return serve(name)

    return Router(CONSOLE_PATH, route_handlers=[page, asset], include_in_schema=False)
