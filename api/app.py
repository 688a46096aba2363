"""The Litestar application factory."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
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
from api.hooks import MAX_BODY_BYTES, require_json
from api.metrics import METRICS_TOKEN, metrics
from api.middleware import response_headers
from api.openapi import document_problems_only
from api.problems import problem_response
from api.refunds import RefundController
from api.streams import StreamController
from api.tasks import TaskController
from api.users import UserController
from infrastructure.bootstrap import open_runtime
from infrastructure.processes.maintenance import keep_up, record_pool_state
from infrastructure.settings import Settings


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
        before_request=require_json,  # protected routes: api.dependencies.authenticated, which also calls it
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
