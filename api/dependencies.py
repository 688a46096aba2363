"""Per-request dependencies: each area's dependency set, and who is calling."""

from dataclasses import fields
from typing import Any, TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from api.middleware import request_ids
from application.audit_proofs import DigestDeps
from application.auditing import AuditDeps
from application.context import AccessClaims, RequestContext
from application.errors import Unauthenticated
from application.queries import TaskReadDeps
from application.refunds import RefundDeps
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
    # It takes the caller only to be resolved after it: Litestar resolves a route's independent dependencies
    # concurrently, in a task group made for each request, which costs more than resolving them one by one.
    def provide(state: State, ctx: Context) -> Any:
        return getattr(state.runtime.deps, area)

    return Provide(provide, sync_to_thread=False)


# A route names the dependency sets it uses by parameter: each field of Dependencies is one.
PROVIDERS = {area.name: _provider(area.name) for area in fields(Dependencies)}


def provide_anonymous(request: Request[object, object, State]) -> RequestContext:
    request_id, correlation_id = request_ids(request.scope)
    address = request.client.host if request.client else None
    return RequestContext(actor=None, request_id=request_id, correlation_id=correlation_id, client_address=address)


# Where the authentication hook leaves the verified claims (and a pending admission) for the caller's dependency.
CLAIMS = "access_claims"
ADMISSION = "admission"


def provide_caller(request: Request[object, object, State]) -> RequestContext:
    """The authenticated caller, as the `authenticated` hook verified it (401 on a route without the hook)."""
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
        admission=request.scope["state"].get(ADMISSION),
    )
