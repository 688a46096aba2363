"""The Ed25519 key that signs the log's digests: from TASKFLOW_AUDIT_SIGNING_KEY, never kept in the database."""

import base64
import binascii
import hashlib
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_BYTES = 32
_RAW = serialization.Encoding.Raw


def new_signing_key() -> str:
    """A fresh private key, as the base64 text the variable (or its file) holds."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def _base64_key(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == KEY_BYTES else None


def _pem_key(text: bytes) -> bytes:
    try:
        key = serialization.load_pem_private_key(text, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a PEM private key without a password") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    return key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def parse_signing_key(value: str) -> bytes:
    """The private key's 32 raw bytes from the variable's value: the key itself (base64), or the path of a file
    holding it (the same base64 text, or a PKCS#8 PEM as `openssl genpkey -algorithm ed25519` writes).
    ValueError for anything else."""
    if (key := _base64_key(value)) is not None:
        return key
    try:
        content = Path(value).read_bytes()
    except (OSError, ValueError) as exc:
        raise ValueError("neither a key nor a readable file") from exc
    if content.lstrip().startswith(b"-----BEGIN"):
        return _pem_key(content)
    if (key := _base64_key(content.decode(errors="replace"))) is not None:
        return key
    raise ValueError("the file holds no key")


def key_id(public_key: bytes) -> str:
    """A key's id: the lower-case hex SHA-256 of its 32 raw public bytes."""
    return hashlib.sha256(public_key).hexdigest()


class Ed25519Signer:
    def __init__(self, private_key: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(private_key)
        self._public = self._key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        self._key_id = key_id(self._public)

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public

    def sign(self, payload: bytes) -> bytes:
        return self._key.sign(payload)


def signature_verifies(public_key: bytes, payload: bytes, signature: str) -> bool:
    """Whether `signature` (base64) is `public_key`'s Ed25519 signature of `payload`."""
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, payload)
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
