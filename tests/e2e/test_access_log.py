"""One access log line per request, with what an operator needs and nothing a client sent as a secret."""

import asyncio
import logging
from typing import Any
from uuid import uuid4

import pytest
from litestar.types import Message, Receive, Scope, Send

from api.access_log import CLIENT_GONE, access_log
from tests.e2e.helpers import Client, bearer, create_task

Session = dict[str, Any]


async def test_each_request_logs_ids_user_route_status_and_latency(
    client: Client, alice: Session, caplog: pytest.LogCaptureFixture
) -> None:
    task = await create_task(client, alice)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="taskflow.access"):
        response = await client.get(
            f"/tasks/{task['id']}?version=1", headers=bearer(alice) | {"X-Correlation-ID": "order-42"}
        )
        missing = await client.get(f"/tasks/{uuid4()}", headers=bearer(alice))
    lines = [record for record in caplog.records if record.name == "taskflow.access"]
    assert len(lines) == 2
    first = lines[0]
    assert first.requestId == response.headers["x-request-id"]  # type: ignore[attr-defined]
    assert first.correlationId == "order-42"  # type: ignore[attr-defined]
    assert first.userId == alice["user"]["id"]  # type: ignore[attr-defined]
    assert (first.method, first.route, first.status) == ("GET", "/tasks/{task_id}", 200)  # type: ignore[attr-defined]
    assert first.latencyMs >= 0  # type: ignore[attr-defined]
    assert lines[1].status == missing.status_code  # type: ignore[attr-defined]
    text = " ".join(str(record.__dict__) for record in lines)
    assert alice["accessToken"] not in text
    assert task["id"] not in text, "the route is the template, not the path"


async def test_requests_no_route_takes_are_logged_too(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="taskflow.access"):
        missing = await client.get("/no/such/path?token=secret-in-query")
        refused = await client.delete("/health")
    lines = [record for record in caplog.records if record.name == "taskflow.access"]
    assert [(line.route, line.status) for line in lines] == [  # type: ignore[attr-defined]
        ("(unrouted)", missing.status_code),
        ("(unrouted)", refused.status_code),
    ]
    assert (missing.status_code, refused.status_code) == (404, 405)
    assert "secret-in-query" not in " ".join(str(record.__dict__) for record in lines)


async def test_a_request_cancelled_unanswered_is_499_not_a_server_error(caplog: pytest.LogCaptureFixture) -> None:
    entered = asyncio.Event()

    async def hanging(scope: Scope, receive: Receive, send: Send) -> None:
        entered.set()
        await asyncio.sleep(3600)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": "/tasks", "headers": [], "state": {}, "path_template": "/tasks"}
    with caplog.at_level(logging.INFO, logger="taskflow.access"):
        request: asyncio.Task[None] = asyncio.create_task(access_log(hanging)(scope, receive, send))  # type: ignore[arg-type]
        await entered.wait()
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
    (line,) = [record for record in caplog.records if record.name == "taskflow.access"]
    assert line.status == CLIENT_GONE == 499  # type: ignore[attr-defined]
