"""Who may scrape /metrics: with TASKFLOW_METRICS_TOKEN set, only a request that brings it as its bearer token.
And the metrics server of the processes without an API (projector, scheduler, worker), which asks the same."""

import hmac
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def may_scrape(authorization: str | None, token: str | None) -> bool:
    """Whether a request with this Authorization header may read the metrics (any request, when no token is set)."""
    if token is None:
        return True
    scheme, _, presented = (authorization or "").partition(" ")
    # In constant time: how long the comparison takes says nothing of how much of the token was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


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
