"""RFC 9457 problem details: every error, 500 included, becomes one of these in one place, with no internals."""

import logging
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from api.middleware import request_ids
from api.validation import MAX_ERRORS, FieldError, body_errors, parameter_errors
from application import errors as app
from application.idempotency import KeyReused
from domain import errors as domain
from infrastructure.postgres.pool import UNAVAILABLE as DATABASE_UNAVAILABLE

log = logging.getLogger("taskflow.api")

PROBLEM_JSON = "application/problem+json"
# Where the app keeps a JSON request body it has read, so a 400 can check every field of it.
RAW_BODY = "raw_body"
RETRY_AFTER_SECONDS = "5"

# Application and domain errors, most specific first: (status, problem slug, detail for the client).
_MAPPING: list[tuple[type[Exception], int, str, str]] = [
    (app.InvalidCredentials, 401, "invalid-credentials", "The email or password is incorrect."),
    (app.Unauthenticated, 401, "unauthenticated", "A valid bearer token is required."),
    (app.Forbidden, 403, "forbidden", "Your role does not allow this."),
    (app.NotFound, 404, "not-found", "No such resource."),
    (domain.TaskNotFound, 404, "not-found", "No such resource."),
    (domain.UserNotFound, 404, "not-found", "No such resource."),
    (domain.RefundNotFound, 404, "not-found", "No such resource."),
    (domain.TaskHasNoFee, 409, "no-fee", "The task has no fee to refund."),
    (domain.RefundAlreadyRequested, 409, "refund-already-requested", "The task's refund is requested already."),
    (domain.FeeLocked, 409, "fee-locked", "The fee cannot change once its refund is requested."),
    (domain.RefundNotFailed, 409, "not-a-dead-letter", "Only a FAILED refund can be retried."),
    (app.EmailTaken, 409, "email-taken", "That email is registered already."),
    (KeyReused, 409, "idempotency-key-reused", "This Idempotency-Key was used with another request."),
    (app.ConcurrencyError, 409, "concurrent-modification", "The resource changed meanwhile; reload and retry."),
    (app.Conflict, 409, "conflict", "The request conflicts with the current state."),
    (domain.InvalidTask, 400, "validation-error", "The request is invalid."),
    (domain.DomainError, 409, "conflict", "The request conflicts with the current state."),
    (app.PreconditionFailed, 412, "precondition-failed", "If-Match does not name the current version."),
    (app.InvalidInput, 400, "validation-error", "The request is invalid."),
    (app.RateLimited, 429, "rate-limited", "Too many requests; retry after the time in Retry-After."),
    (app.ServiceUnavailable, 503, "service-unavailable", "A dependency is unavailable; retry shortly."),
]


class Problem(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    errors: list[FieldError] | None = None
    # How many invalid fields `errors` does not list (it lists MAX_ERRORS at most).
    errors_omitted: int | None = None


def problem_type(slug: str) -> str:
    return f"urn:taskflow:problem:{slug}"


def classify(exc: BaseException) -> tuple[int, str, str]:
    """(status, slug, detail) for any exception; internals never reach the detail."""
    for exc_type, status, slug, detail in _MAPPING:
        if isinstance(exc, exc_type):
            return status, slug, detail
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return 503, "service-unavailable", "A dependency is unavailable; retry shortly."
    if isinstance(exc, HTTPException):
        status = exc.status_code
        phrase = HTTPStatus(status).phrase
        return status, phrase.lower().replace(" ", "-"), _http_detail(exc, phrase)
    return 500, "internal-error", "An unexpected error occurred; it has been logged."


def _http_detail(exc: HTTPException, phrase: str) -> str:
    # Litestar's own client-error details are safe and useful ("Method Not Allowed", "Request Entity Too Large").
    detail = str(exc.detail or phrase)
    return phrase if exc.status_code >= 500 or "Validation failed" in detail else detail


def _field_errors(request: Request[Any, Any, Any], exc: BaseException) -> tuple[list[FieldError], int]:
    """The invalid fields a 400 lists (MAX_ERRORS at most), and how many there are in all."""
    if isinstance(exc, app.InvalidInput | domain.InvalidTask):
        return [FieldError(field=exc.field, message=exc.message)], 1
    if not isinstance(exc, HTTPException):
        return [], 0
    extra = exc.extra if isinstance(exc, ValidationException) and isinstance(exc.extra, list) else []
    if any(item.get("source") == "body" for item in extra if isinstance(item, dict)) or not extra:
        data_field = request.route_handler.parsed_data_field
        body_type = data_field.annotation if data_field else None
        if isinstance(body_type, type) and issubclass(body_type, msgspec.Struct):
            raw = request.scope.get("state", {}).get(RAW_BODY)
            found, total = body_errors(body_type, raw) if isinstance(raw, bytes) else ([], 0)
            if found:
                return found, total
    listed = parameter_errors(request.route_handler, extra)
    return listed[:MAX_ERRORS], len(listed)


def problem_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """The one exception handler of the app."""
    status, slug, detail = classify(exc)
    field_errors, total = _field_errors(request, exc) if status == 400 else ([], 0)
    if field_errors:
        slug, detail = "validation-error", "The request is invalid; see errors."
    request_id, _ = request_ids(request.scope)
    if status >= 500:
        log.error("request failed", exc_info=exc if status == 500 else None, extra={"status": status})
    headers: dict[str, str] = {}
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="taskflow"'
    if isinstance(exc, app.RateLimited):
        headers |= {
            "Retry-After": str(exc.retry_after_seconds),
            "RateLimit-Limit": str(exc.limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(exc.retry_after_seconds),
        }
    if isinstance(exc, HTTPException) and exc.headers:
        headers.update({k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")})
    problem = Problem(
        type=problem_type(slug),
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=request_id,
        errors=field_errors or None,
        errors_omitted=total - len(field_errors) or None,
    )
    return Response(problem, status_code=status, media_type=PROBLEM_JSON, headers=headers)
