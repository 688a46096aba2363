"""What runs before a route's handler, before its body or parameters are read: on protected routes, the bearer
token checked (401), then, on every route, a JSON body checked (415, 413, 400).

Litestar's before-request hook rather than a guard: a guard is given a copy of the route handler on every call,
which cost a cached read 6% of its time."""

import msgspec
from litestar import Request, Response
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException

from api.access_log import USER_ID
from api.dependencies import ADMISSION, CLAIMS
from api.kept_answers import KEEPS_ANSWER, answer_name, awaiting, kept_response
from api.problems import RAW_BODY
from api.validation import MAX_NESTING, nested_too_deep
from application.context import Admission
from application.errors import InvalidInput, Unauthenticated
from application.sessions import admit, verify_access

# A route's `opt` key: its caller is admitted with the cache's own round trip (a read through the task cache).
ADMITTED_WITH_READ = "admitted_with_read"

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


async def authenticated(request: Request[object, object, State]) -> Response[bytes] | None:
    """The hook of every protected route: a valid, unrevoked bearer access token within the per-user rate limit, or
    401/429, before the body, parameters or headers of the request are looked at; then the body's own checks. On a
    cached read's route the token is verified here and its admission asked with the read (one Redis round trip for
    both; a refusal still comes before any answer); where the cache keeps the route's whole answer, that same round
    trip fetches it, and a kept answer is the response."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    runtime = request.app.state.runtime
    claims = verify_access(token.strip(), runtime.tokens)
    state = request.scope["state"]
    state[USER_ID] = str(claims.actor.user_id)  # the access log names the caller, 401 or 429 too
    if request.route_handler.opt.get(ADMITTED_WITH_READ) and runtime.cache is not None:
        admission = state[ADMISSION] = Admission(claims)
        keepable = request.route_handler.opt.get(KEEPS_ANSWER)
        if keepable is not None and keepable(request.scope["query_string"]):
            kept = await runtime.cache.kept_answer(claims.actor, answer_name(request), admission)
            if kept.body is not None:
                return kept_response(request, kept)
            awaiting(request, kept.key)
    else:
        await admit(claims, runtime.access_gate)
    state[CLAIMS] = claims
    await require_json(request)
    return None
