"""Opaque, tamper-checked keyset cursors: base64url(payload) '.' base64url(HMAC-SHA256(payload))."""

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID

import msgspec

from application.errors import InvalidInput

_SIGNATURE_BYTES = 16


class _Position(msgspec.Struct, array_like=True):
    created_at: datetime
    id: UUID


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _sign(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def encode_cursor(secret: bytes, position: tuple[datetime, UUID]) -> str:
    payload = msgspec.json.encode(_Position(*position))
    return f"{_b64(payload)}.{_b64(_sign(secret, payload))}"


def decode_cursor(secret: bytes, cursor: str) -> tuple[datetime, UUID]:
    """The position a cursor names; InvalidInput for anything this service did not issue."""
    try:
        payload_text, signature_text = cursor.split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
        if not hmac.compare_digest(signature, _sign(secret, payload)):
            raise ValueError("bad signature")
        position = msgspec.json.decode(payload, type=_Position)
    except (ValueError, msgspec.ValidationError) as exc:
        raise InvalidInput("cursor", "is not a cursor this service issued") from exc
    return position.created_at, position.id


class Keyed(Protocol):
    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> UUID: ...


K = TypeVar("K", bound=Keyed)


def page_of(secret: bytes, rows: Sequence[K], limit: int) -> tuple[list[K], str | None]:
    """The first `limit` of `rows` (fetched as limit + 1), and a cursor after the last one if more remain."""
    page = list(rows[:limit])
    if len(rows) <= limit or not page:
        return page, None
    return page, encode_cursor(secret, (page[-1].created_at, page[-1].id))
