"""Per-request dependencies: the services, and who is calling."""

from typing import TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from api.middleware import request_ids
from application.context import RequestContext
from application.errors import Unauthenticated
from application.services import Services

# Named dependencies: resolved by parameter name from the app's `dependencies`.
Context: TypeAlias = NamedDependency[RequestContext]
ServicesDep: TypeAlias = NamedDependency[Services]


def provide_services(state: State) -> Services:
    services: ServicesDep = state.runtime.services
    return services


def provide_anonymous(request: Request[object, object, State]) -> RequestContext:
    request_id, correlation_id = request_ids(request.scope)
    return RequestContext(actor=None, request_id=request_id, correlation_id=correlation_id)


def provide_caller(request: Request[object, object, State], services: ServicesDep) -> RequestContext:
    """The authenticated caller: a valid bearer access token, or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    request_id, correlation_id = request_ids(request.scope)
    actor = services.tokens.verify(token.strip())
    return RequestContext(actor=actor, request_id=request_id, correlation_id=correlation_id)
