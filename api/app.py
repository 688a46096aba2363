"""The Litestar application factory."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api.access_log import access_log
from api.admin import AdminController
from api.audit import AuditController
from api.auth import AuthController, SessionController
from api.bench_floor import floor_router
from api.console import CONSOLE_PATH, CONSOLE_POLICY, console_router
from api.dependencies import PROVIDERS, provide_caller
from api.docs import OfflineSwagger
from api.health import health, ready
from api.metrics import METRICS_TOKEN, metrics
from api.middleware import response_headers
from api.openapi import document_problems_only
from api.problems import RAW_BODY, problem_response
from api.refunds import RefundController
from api.streams import StreamController
from api.tasks import TaskController
from api.users import UserController
from api.validation import MAX_NESTING, nested_too_deep
from application.errors import InvalidInput
from infrastructure.bootstrap import open_runtime
from infrastructure.processes.maintenance import keep_up, record_pool_state
from infrastructure.settings import Settings

MAX_BODY_BYTES = 1024 * 1024


async def require_json(request: Request[object, object, State]) -> None:
    """415 for a body that is not JSON; else read it (413 past the limit) and keep it for error reports."""
    if request.method not in ("POST", "PUT", "PATCH") or request.route_handler.parsed_data_field is None:
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(status_code=415, detail="Send the body as application/json.")
    raw = await request.body()
    if nested_too_deep(raw):
        raise InvalidInput("body", f"is nested more than {MAX_NESTING} levels deep")
    request.scope["state"][RAW_BODY] = raw
    # Litestar decodes bodies leniently (a number for a timestamp, a string for a number); the contract's types
    # are exact, so the body must first decode strictly. The problem handler then lists every invalid field.
    body_type = request.route_handler.parsed_data_field.annotation
    if isinstance(body_type, type) and issubclass(body_type, msgspec.Struct):
        try:
            msgspec.json.decode(raw, type=body_type, strict=True)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise ValidationException(detail="Validation failed") from error


def create_app(settings: Settings) -> Litestar:
    """An app whose lifespan opens the pool and the Redis client that `settings` name."""

    @asynccontextmanager
    async def runtime(app: Litestar) -> AsyncIterator[None]:
        async with open_runtime(settings) as opened:
            app.state.runtime = opened
            stop = asyncio.Event()
            upkeep = asyncio.create_task(keep_up(opened, stop), name="upkeep")
            gauges = asyncio.create_task(record_pool_state(opened, stop), name="pool gauges")
            try:
                yield
            finally:
                stop.set()
                await asyncio.gather(upkeep, gauges)

    swagger = OfflineSwagger()
    app = Litestar(
        route_handlers=[
            AuthController,
            SessionController,
            UserController,
            TaskController,
            RefundController,
            AdminController,
            AuditController,
            StreamController,
            console_router(),
            health,
            ready,
            metrics,
            *([floor_router(settings.redis_namespace)] if settings.bench_floor else []),
        ],
        lifespan=[runtime],
        state=State({METRICS_TOKEN: settings.metrics_token}),
        dependencies={
            **PROVIDERS,
            "ctx": Provide(provide_caller, sync_to_thread=False),
        },
        before_send=[
            response_headers({"/schema/swagger": swagger.content_security_policy, CONSOLE_PATH: CONSOLE_POLICY})
        ],
        before_request=require_json,
        exception_handlers={Exception: problem_response},
        request_max_body_size=MAX_BODY_BYTES,
        cors_config=CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None,
        openapi_config=OpenAPIConfig(
            title="TaskFlow",
            version="1.0.0",
            description="Event-sourced task management.",
            path="/schema",
            render_plugins=[swagger],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                    "MetricsToken": SecurityScheme(type="http", scheme="bearer", description="TASKFLOW_METRICS_TOKEN"),
                }
            ),
        ),
        debug=False,
        logging_config=None,  # the process's own (infrastructure.logs): JSON lines, TASKFLOW_LOG_LEVEL
    )
    # Outermost, around Litestar's router and exception handling: requests no route takes (404, 405) and those
    # refused before their handler are logged and measured too.
    app.asgi_handler = access_log(app.asgi_handler)
    document_problems_only(app)
    return app
