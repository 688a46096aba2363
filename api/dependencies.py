"""Per-request dependencies: the services, and who is calling."""

from typing import TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler

from api.access_log import USER_ID
from api.middleware import request_ids
from application.context import AccessClaims, RequestContext
from application.errors import Unauthenticated
from application.services import Services
from application.sessions import admit, verify_access

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


# Where the authentication guard leaves the verified claims for the caller's dependency.
CLAIMS = "access_claims"


async def authenticated(connection: ASGIConnection[object, object, object, State], handler: BaseRouteHandler) -> None:
    """The guard of every protected route: a valid, unrevoked bearer access token within the per-user rate limit,
    or 401/429, before the body, parameters or headers of the request are looked at."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    services = provide_services(connection.app.state)
    claims = verify_access(token.strip(), services)
    connection.scope["state"][USER_ID] = str(claims.actor.user_id)  # the access log names the caller, 401 or 429 too
    await admit(claims, services)
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
    )
