"""Response envelopes of the API's own (the request bodies are the application's commands), and naming them."""

from typing import Any
from uuid import UUID

import msgspec
from litestar.enums import RequestEncodingType
from litestar.params import Body

from application.views import UserView


def named_body(name: str) -> Any:
    """A JSON body whose schema keeps the name the published document gives it (generated clients name their
    models by it): `data: Annotated[CreateTask, named_body("CreateTaskBody")]`."""
    return Body(media_type=RequestEncodingType.JSON, schema_component_key=name, schema_extra={"title": name})


class SessionResponse(msgspec.Struct, frozen=True, rename="camel"):
    user: UserView
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret


class BatchError(msgspec.Struct, frozen=True):
    status: int
    title: str


class BatchResult(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    task_id: UUID
    ok: bool
    error: BatchError | None = None


class BatchResponse(msgspec.Struct, frozen=True, rename="camel"):
    results: list[BatchResult]
    succeeded: int
    failed: int


class Health(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, str]
