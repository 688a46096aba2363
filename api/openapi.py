"""OpenAPI pieces shared by the controllers: the security scheme, the problem responses, and real examples."""

from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIResponse, Operation, Reference
from litestar.routes import HTTPRoute

from api.messages import FORMATS
from api.problems import PROBLEM_JSON, Problem
from application.views import TaskView

BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]

DESCRIPTIONS = {
    400: "Malformed JSON, failed validation or an unknown field",
    401: "Missing, malformed, expired or revoked token",
    403: "The role may not do this",
    404: "No such resource, or it is not yours",
    409: "Conflict with the current state",
    412: "If-Match does not name the current version",
    413: "Body over 1 MiB",
    415: "Body is not JSON",
    429: "Rate limited; see Retry-After",
    503: "A dependency is unavailable",
}

# What the service answers to POST /tasks with {"title": " ", "priority": "URGENT", "fee": {"amount": 0, ...}}
# (tests/e2e/test_openapi_document.py sends it and compares).
INVALID_TASK: dict[str, Any] = {
    "type": "urn:taskflow:problem:validation-error",
    "title": "Bad Request",
    "status": 400,
    "detail": "The request is invalid; see errors.",
    "instance": "/tasks",
    "requestId": "5f0c6d1e9b7a4c2d8e3f1a2b3c4d5e6f",
    "errors": [
        {"field": "title", "message": FORMATS["title"]},
        {"field": "priority", "message": "must be one of LOW, MEDIUM, HIGH"},
        {"field": "fee.amount", "message": "must be at least 1"},
    ],
}

# A task as GET /tasks/{id} answers it: completed, its fee refunded at the second attempt. (Litestar leaves null
# members out of an example, so this one has none.)
TASK: dict[str, Any] = {
    "id": "0b5d3c8e-7fa2-4c1e-9d6b-2e8f4a1c7b30",
    "title": "Write the quarterly report",
    "description": "Revenue and churn figures from the finance export.",
    "status": "COMPLETED",
    "priority": "HIGH",
    "dueDate": "2026-11-30T17:00:00Z",
    "overdue": False,
    "ownerId": "6a1f9e2d-3b4c-4d5e-8f70-1a2b3c4d5e6f",
    "fee": {"amount": 1500, "currency": "EUR"},
    "refund": {
        "id": "c41e7a90-2d5b-4f3a-8e61-9b0d2c7f4a15",
        "taskId": "0b5d3c8e-7fa2-4c1e-9d6b-2e8f4a1c7b30",
        "amount": 1500,
        "currency": "EUR",
        "status": "SUCCEEDED",
        "attempts": 2,
        "lastError": "gateway timed out",
        "requestedAt": "2026-11-27T10:00:00Z",
        "completedAt": "2026-11-27T10:00:03Z",
    },
    "version": 3,
    "createdAt": "2026-11-26T08:00:00Z",
    "updatedAt": "2026-11-27T10:00:00Z",
}

INVALID_TASK_EXAMPLE = Example(summary="Every invalid field is listed (here, of a task's body)", value=INVALID_TASK)


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Declare the problem responses a route can give (the validation, auth and dependency ones included).

    These are the only error responses its operation documents: see ProblemOperation."""
    return {
        status: ResponseSpec(
            Problem,
            description=DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,  # Litestar's would be random strings and numbers
            examples=[INVALID_TASK_EXAMPLE] if status == 400 else None,
        )
        for status in statuses
    }


def task_response(status: int, description: str) -> dict[int, ResponseSpec]:
    """The success response of a route that answers a task, with a real one as its example."""
    return {
        status: ResponseSpec(
            TaskView,
            description=description,
            generate_examples=False,
            examples=[Example(summary="A task", value=TASK)],
        )
    }


@dataclass
class ProblemOperation(Operation):
    """An operation whose error responses are the problems its route declares, and no others."""

    def __post_init__(self) -> None:
        # Litestar documents its own 400 for every route with a parameter; the service answers every error as a
        # problem, and a route that can answer 400 declares it with problems(400) (an id that is no UUID is a 404).
        responses = self.responses or {}
        self.responses = {code: answer for code, answer in responses.items() if int(code) < 400 or is_problem(answer)}


def is_problem(response: OpenAPIResponse | Reference) -> bool:
    return isinstance(response, OpenAPIResponse) and set(response.content or ()) == {PROBLEM_JSON}


def document_problems_only(app: Litestar) -> None:
    """Have every operation of `app` documented as a ProblemOperation (Litestar sets the class route by route)."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                handler.operation_class = ProblemOperation
