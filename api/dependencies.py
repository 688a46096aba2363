"""Per-request dependencies: the services, and who is calling."""

from typing import TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from api.access_log import USER_ID
from api.middleware import request_ids
from application.context import RequestContext
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


async def provide_caller(request: Request[object, object, State], services: ServicesDep) -> RequestContext:
    """The authenticated caller: a valid, unrevoked bearer access token within the per-user rate limit, or 401/429."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    claims = verify_access(token.strip(), services)
    request.scope["state"][USER_ID] = str(claims.actor.user_id)  # the access log names the caller, 401 or 429 too
    await admit(claims, services)
    anonymous = provide_anonymous(request)
    return RequestContext(
        actor=claims.actor,
        request_id=anonymous.request_id,
        correlation_id=anonymous.correlation_id,
        client_address=anonymous.client_address,
        access=claims,
    )
