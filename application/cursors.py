"""Opaque, tamper-checked keyset cursors: base64url(payload) '.' base64url(HMAC-SHA256(payload))."""

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec

from application.errors import InvalidInput

_SIGNATURE_BYTES = 16

# How long a walk may take: superseded row versions are kept this long for it.
WALK_RETENTION = timedelta(hours=1)

SortKey = datetime | int | None
# PostgreSQL's text form of a snapshot, xmin:xmax:xip,...: checked here, so the SQL never sees anything else.
Snapshot = Annotated[str, msgspec.Meta(pattern=r"^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$")]


class Cursor(msgspec.Struct, array_like=True, frozen=True):
    """The last row of a page (its sort key and id), the query it belongs to (a fingerprint: the same cursor with
    other filters is refused), when the walk began, and for task lists the first page's database snapshot."""

    query: str
    key: SortKey
    id: UUID
    began_at: datetime
    snapshot: Snapshot | None = None
    epoch: int = 0


def fingerprint(query: Any) -> str:
    """A short digest of a query's filters and sort: what a cursor may be used with."""
    return hashlib.sha256(msgspec.json.encode(query, order="sorted")).hexdigest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def sign(secret: bytes, payload: bytes) -> bytes:
    """A truncated HMAC-SHA256: what makes a cursor this service's own."""
    return hmac.new(secret, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def encode_cursor(secret: bytes, cursor: Cursor) -> str:
    payload = msgspec.json.encode(cursor)
    return f"{_b64(payload)}.{_b64(sign(secret, payload))}"


def decode_cursor(secret: bytes, text: str, query: str, now: datetime) -> Cursor:
    """The cursor `text` names, if this service issued it for `query` within the walk retention; else InvalidInput."""
    try:
        payload_text, signature_text = text.split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
        if not hmac.compare_digest(signature, sign(secret, payload)):
            raise ValueError("bad signature")
        cursor = msgspec.json.decode(payload, type=Cursor)
    except (ValueError, msgspec.ValidationError) as exc:
        raise InvalidInput("cursor", "is not a cursor this service issued") from exc
    if cursor.query != query:
        raise InvalidInput("cursor", "belongs to a query with other filters or another sort")
    if now - cursor.began_at > WALK_RETENTION:
        raise InvalidInput("cursor", "has expired; start again from the first page")
    return cursor


R = TypeVar("R")


def page_of(
    secret: bytes, rows: Sequence[R], limit: int, next_cursor: Callable[[R], Cursor]
) -> tuple[list[R], str | None]:
    """The first `limit` of `rows` (fetched as limit + 1), and a cursor after the last one if more remain."""
    page = list(rows[:limit])
    if len(rows) <= limit or not page:
        return page, None
    return page, encode_cursor(secret, next_cursor(page[-1]))
