"""Per-request dependencies: the services, and who is calling."""

from typing import TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from api.middleware import request_ids
from application.context import AccessClaims, RequestContext
from application.errors import Unauthenticated
from application.services import Services

# Named dependencies: resolved by parameter name from the app's `dependencies`.
Context: TypeAlias = NamedDependency[RequestContext]
ServicesDep: TypeAlias = NamedDependency[Services]


def provide_services(state: State) -> Services:
    services: Services = state.runtime.services
    return services


def provide_anonymous(request: Request[object, object, State]) -> RequestContext:
    request_id, correlation_id = request_ids(request.scope)
    address = request.client.host if request.client else None
    return RequestContext(actor=None, request_id=request_id, correlation_id=correlation_id, client_address=address)


# Where the authentication hook leaves the verified claims (and a pending admission) for the caller's dependency.
CLAIMS = "access_claims"
ADMISSION = "admission"


def provide_caller(request: Request[object, object, State], services: ServicesDep) -> RequestContext:
    """The authenticated caller, as the `authenticated` hook verified it (401 on a route without the hook).

    It takes the services only to be resolved after them: Litestar resolves a route's independent dependencies
    concurrently, in a task group made for each request, which costs more than resolving them one by one."""
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
