"""OpenAPI pieces shared by the controllers: the security scheme and the problem responses."""

from litestar.openapi import ResponseSpec

from api.problems import Problem

BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Declare the problem responses a route can give (the validation, auth and dependency ones included)."""
    descriptions = {
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
    return {
        status: ResponseSpec(Problem, description=descriptions[status], media_type="application/problem+json")
        for status in statuses
    }
