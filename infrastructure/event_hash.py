"""The per-stream hash chain that makes the log tamper-evident.

hash(n) = SHA-256(hash(n-1) || canonical(n)), with hash(0) the empty string, where canonical(n) is the
compact JSON array [stream_id, version, type, schema_version, data, metadata] with object keys sorted
(msgspec, UTF-8, no whitespace). JSONB keeps values, not formatting, so the encoding is recomputable from the table.
"""

import hashlib
from typing import Any
from uuid import UUID

import msgspec

_ENCODER = msgspec.json.Encoder(order="sorted")


def event_hash(
    previous: bytes,
    stream_id: UUID,
    version: int,
    type_: str,
    schema_version: int,
    data: Any,
    metadata: Any,
) -> bytes:
    canonical = _ENCODER.encode([str(stream_id), version, type_, schema_version, data, metadata])
    return hashlib.sha256(previous + canonical).digest()
