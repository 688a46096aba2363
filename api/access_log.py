"""One JSON log line per request, and its latency in the request histogram of /metrics."""

import asyncio
import logging
import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import request_ids
from infrastructure.metrics import observe_request

log = logging.getLogger("taskflow.access")

USER_ID = "access_user_id"  # where provide_caller leaves the caller's id in the scope's state
CLIENT_GONE = 499  # nginx's "client closed request": logged and measured for a request cancelled unanswered


def access_log(app: ASGIApp) -> ASGIApp:
    """Wrap `app`: each request logged with its ids, user, method, status and latency; the route is the path
    template, never the path, so ids and query strings (a cursor, say) stay out of the logs."""

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        logging_on = log.isEnabledFor(logging.INFO)
        if logging_on:
            # Made now, so the scopes the app derives from this one share the ids (and the state the user id goes to).
            request_id, correlation_id = request_ids(scope)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        except asyncio.CancelledError:
            if status == 500:
                status = CLIENT_GONE  # cancelled before it answered: the client went away, not a server error
            raise
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("path_template") or "(unrouted)"
            try:
                observe_request(scope["method"], route, status, seconds)
            except Exception:  # the metrics files (a full disk, say) must not cost the request or its log line
                log.warning("request not recorded in the metrics", exc_info=True)
            if logging_on:
                log.info(
                    "request",
                    extra={
                        "requestId": request_id,
                        "correlationId": correlation_id,
                        "userId": scope.get("state", {}).get(USER_ID),
                        "method": scope.get("method"),
                        "route": route,
                        "status": status,
                        "latencyMs": round(seconds * 1000, 2),
                    },
                )

    return logged
