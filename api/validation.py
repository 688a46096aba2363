"""Describe invalid input field by field, so a 400 lists every invalid field, not only the first msgspec meets."""

import re
from array import array
from itertools import accumulate
from typing import Any

import msgspec
from litestar.handlers import BaseRouteHandler

from api.messages import in_words

# No body of the API nests more than two levels; decoding a much deeper one recurses until Python's stack runs out
# (a thousand levels do), so nesting is measured, at C speed, before anything decodes a body.
MAX_NESTING = 32
# A 400 lists this many invalid fields at most, and counts the rest: a mebibyte of unknown keys would otherwise be
# answered with megabytes of errors; and an unknown field's name is shown this long at most.
MAX_ERRORS = 50
MAX_NAME = 64
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


class FieldError(msgspec.Struct, frozen=True):
    field: str
    message: str


def nesting(raw: bytes) -> int:
    """How deep the JSON text `raw` nests arrays and objects inside one another."""
    # Escaped backslashes, then escaped quotes, go first (each backslash escapes the byte after it); then every
    # other piece between quotes is a string's contents, whose brackets are text.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[::2])
    return max(accumulate(array("b", outside_strings.translate(_STEPS, _NOT_BRACKETS))), default=0)


def nested_too_deep(raw: bytes) -> bool:
    """Whether the JSON text `raw` nests more than MAX_NESTING levels (most bodies are told by two counts)."""
    return raw.count(b"[") + raw.count(b"{") > MAX_NESTING and nesting(raw) > MAX_NESTING


def _describe(error: msgspec.ValidationError, field: str, annotation: Any) -> FieldError:
    text = str(error)
    match = _PATH.search(text)
    if match:
        text = text[: match.start()]
        path = re.sub(r"\[(\d+)\]", r".\1", match.group("path"))
        if path:  # about a member of the field: the field's own type says nothing of it
            field, annotation = field + path, None
    field, message = in_words(field, text, annotation)
    return FieldError(field=field, message=message)


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda match: match[1].upper(), name)


def parameter_errors(handler: BaseRouteHandler, extra: list[Any]) -> list[FieldError]:
    """Litestar's errors about query, path and header parameters, under their wire names, in plain words."""
    parameters = handler.parsed_fn_signature.parameters
    errors = []
    for item in extra:
        if not isinstance(item, dict):
            continue
        key, _, rest = str(item.get("key") or "body").partition(".")
        definition = parameters.get(key)
        wire_name = getattr(definition.kwarg_definition, "name", None) if definition else None
        field, message = in_words(
            ".".join(filter(None, (wire_name or _camel(key), rest))),
            str(item.get("message", "")),
            definition.annotation if definition else None,
        )
        errors.append(FieldError(field=field, message=message))
    return errors


def _as_sent(key: str) -> str:
    """An unknown field's name as the client sent it, cut short: an error is not an echo of the body."""
    return key if len(key) <= MAX_NAME else key[:MAX_NAME] + "…"


def body_errors(body_type: type[msgspec.Struct], raw: bytes) -> tuple[list[FieldError], int]:
    """The problems with `raw` as a `body_type` (malformed JSON, invalid, missing and unknown fields), the first
    MAX_ERRORS of them, the body's own fields first; and how many there are in all."""
    try:
        document: Any = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return [FieldError(field="body", message="is not valid JSON")], 1
    if not isinstance(document, dict):
        return [FieldError(field="body", message="must be a JSON object")], 1
    fields = {info.encode_name: info for info in msgspec.structs.fields(body_type)}
    errors: list[FieldError] = []
    for name, info in fields.items():
        if name not in document:
            if info.required:
                errors.append(FieldError(field=name, message="is required"))
            continue
        try:
            msgspec.json.decode(msgspec.json.encode(document[name]), type=info.type)
        except msgspec.ValidationError as error:
            errors.append(_describe(error, name, info.type))
    unknown = [key for key in document if key not in fields]
    total = len(errors) + len(unknown)
    errors += [
        FieldError(field=_as_sent(key), message="is not a known field") for key in unknown[: MAX_ERRORS - len(errors)]
    ]
    return errors, total
