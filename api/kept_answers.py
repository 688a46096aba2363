"""Whole answers the cache keeps for cacheable reads: a hit is answered by the authentication hook from the gate's own
Redis round trip, before Litestar parses a parameter or resolves a dependency."""

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request, Response
from litestar.datastructures import State
from litestar.enums import MediaType

from infrastructure.redis.cache import KeptAnswer

# A route's `opt` key: a predicate of the raw query string saying whether the route's answer to it may be kept. The
# answer must then depend only on the caller's scope (an admin, or which user), the path and the query string.
KEEPS_ANSWER = "keeps_answer"
Keepable = Callable[[bytes], bool]


def naming_only(*names: str) -> Keepable:
    """Queries whose every parameter is one of `names`, read percent-decoded as the parameter parser reads them: an
    unknown or junk parameter is answered by the route, never kept (callers cannot fill the cache with variants)."""
    known = frozenset(names)

    def keepable(query_string: bytes) -> bool:
        return all(name in known for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))

    return keepable


# Where the hook leaves the key to keep this request's answer under, after a miss.
_KEY = "kept_answer_key"


def answer_name(request: Request[Any, Any, Any]) -> str:
    scope = request.scope
    return hashlib.sha256(scope["path"].encode() + b"?" + scope["query_string"]).hexdigest()


def names_tag(if_none_match: str, tag: str) -> bool:
    """Whether an If-None-Match header names `tag` (weak or strong, or *)."""
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or tag in tags


def kept_response(request: Request[Any, Any, Any], kept: KeptAnswer) -> Response[bytes]:
    """The kept answer, or 304 when the request's If-None-Match names its ETag."""
    if not kept.etag:
        return Response(kept.body or b"", media_type=MediaType.JSON)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and names_tag(if_none_match, kept.etag):
        return Response(b"", status_code=304, headers={"ETag": kept.etag})
    return Response(kept.body or b"", media_type=MediaType.JSON, headers={"ETag": kept.etag})


def awaiting(request: Request[Any, Any, Any], key: str | None) -> None:
    """Note that this request's answer, once it succeeds, is to be kept under `key`."""
    if key is not None:
        request.scope["state"][_KEY] = key


async def keep(
    request: Request[object, object, State], answer: object, etag: str = "", at_most_seconds: int | None = None
) -> None:
    """Keep the answer, encoded as the response's body is, if the hook missed it (a success the route computed from
    the read model), for the cache's TTL or `at_most_seconds` if shorter. Without a miss to fill, nothing is encoded."""
    key = request.scope["state"].get(_KEY)
    if key is not None:
        await request.app.state.runtime.cache.keep_answer(key, msgspec.json.encode(answer), etag, at_most_seconds)
