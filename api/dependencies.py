"""Per-request dependencies: each area's dependency set, and who is calling."""

from dataclasses import fields
from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.handlers import BaseRouteHandler

from api.access_log import USER_ID
from api.middleware import request_ids
from application.audit_proofs import DigestDeps
from application.auditing import AuditDeps
from application.context import AccessClaims, Admission, RequestContext
from application.errors import Unauthenticated
from application.queries import TaskReadDeps
from application.refunds import RefundDeps
from application.sessions import admit, verify_access
from application.tasks import TaskDeps
from application.users import UserDeps
from infrastructure.bootstrap import Dependencies

# Named dependencies: resolved by parameter name from the app's `dependencies` (the caller, and PROVIDERS).
Context: TypeAlias = NamedDependency[RequestContext]
Tasks: TypeAlias = NamedDependency[TaskDeps]
TaskReads: TypeAlias = NamedDependency[TaskReadDeps]
Refunds: TypeAlias = NamedDependency[RefundDeps]
Users: TypeAlias = NamedDependency[UserDeps]
Audit: TypeAlias = NamedDependency[AuditDeps]
Digests: TypeAlias = NamedDependency[DigestDeps]


def _provider(area: str) -> Provide:
    def provide(state: State) -> Any:
        return getattr(state.runtime.deps, area)

    return Provide(provide, sync_to_thread=False)


# A route names the dependency sets it uses by parameter: each field of Dependencies is one.
PROVIDERS = {area.name: _provider(area.name) for area in fields(Dependencies)}


def provide_anonymous(request: Request[object, object, State]) -> RequestContext:
    request_id, correlation_id = request_ids(request.scope)
    address = request.client.host if request.client else None
    return RequestContext(actor=None, request_id=request_id, correlation_id=correlation_id, client_address=address)


# Where the authentication guard leaves the verified claims for the caller's dependency.
CLAIMS = "access_claims"


# A route's `opt` key: its caller is admitted with the cache's own round trip (a read through the task cache).
ADMITTED_WITH_READ = "admitted_with_read"
_ADMISSION = "admission"


async def authenticated(connection: ASGIConnection[object, object, object, State], handler: BaseRouteHandler) -> None:
    """The guard of every protected route: a valid, unrevoked bearer access token within the per-user rate limit,
    or 401/429, before the body, parameters or headers of the request are looked at. On a cached read's route, the
    token is verified here and its admission asked with the read (one Redis round trip for both; a refusal still
    comes before any answer)."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    runtime = connection.app.state.runtime
    claims = verify_access(token.strip(), runtime.tokens)
    connection.scope["state"][USER_ID] = str(claims.actor.user_id)  # the access log names the caller, 401 or 429 too
    if handler.opt.get(ADMITTED_WITH_READ) and runtime.cache is not None:
        connection.scope["state"][_ADMISSION] = Admission(claims)
    else:
        await admit(claims, runtime.access_gate)
    connection.scope["state"][CLAIMS] = claims


def provide_caller(request: Request[object, object, State]) -> RequestContext:
    """The authenticated caller, as the `authenticated` guard verified it (401 on a route without the guard)."""
    claims: AccessClaims | None = request.scope["state"].get(CLAIMS)
    if claims is None:
        raise Unauthenticated()
    anonymous = provide_anonymous(request)
    return RequestContext(
        actor=claims.actor,
        request_id=anonymous.request_id,
        correlation_id=anonymous.correlation_id,
        client_address=anonymous.client_address,
        access=claims,
        admission=request.scope["state"].get(_ADMISSION),
    )
