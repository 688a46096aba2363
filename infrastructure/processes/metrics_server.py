"""The metrics server of the processes without an API (projector, scheduler, worker)."""

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from infrastructure.metrics import may_scrape

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _token_required(app: WsgiApp, token: str | None) -> WsgiApp:
    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if may_scrape(environ.get("HTTP_AUTHORIZATION"), token):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("WWW-Authenticate", 'Bearer realm="taskflow"'), ("Content-Type", "text/plain; charset=utf-8")],
        )
        return [b"A valid bearer token is required.\n"]

    return guarded


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access lines on stderr: the process logs JSON lines on stdout only."""


def serve_process_metrics(host: str, port: int | None, token: str | None) -> None:
    """For a process without an HTTP API: its own metrics at http://host:port/metrics, from a thread of its own, to
    whoever brings `token` (anyone when it is None); nothing when `port` is None."""
    if port is None:
        return
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    server_class = type("MetricsServer", (ThreadingWSGIServer,), {"address_family": family})
    app = _token_required(make_wsgi_app(), token)
    server: ThreadingWSGIServer = make_server(host, port, app, server_class, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics server", daemon=True).start()
