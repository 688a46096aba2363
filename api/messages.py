"""What is wrong with a value, in plain words, rather than msgspec's Python types and regular expressions."""

import enum
import re
import typing
from typing import Any

from application.fields import NAME_RULE, TITLE_RULE

# What each field's pattern means, by its name on the wire.
FORMATS = {
    "title": f"must be {TITLE_RULE}, with no control characters",
    "name": f"must be {NAME_RULE}, with no control characters",
    "email": "must be an email address",
    "currency": "must be an ISO 4217 code of three capital letters",
    "refreshToken": "must be a refresh token this service issued",
    "Idempotency-Key": "must be 1-255 printable ASCII characters",
}
# The wire's name for each type msgspec names.
_TYPES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "object": "an object",
    "array": "an array",
    "uuid": "a UUID",
    "datetime": "an RFC 3339 timestamp with an offset",
    "date": "a date (YYYY-MM-DD)",
}
_BOUNDS = {">=": "at least", ">": "greater than", "<=": "at most", "<": "less than"}
_UNITS = {"str": "character", "array": "item", "object": "field"}

_WRONG_TYPE = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `[^`]+`$")
_PATTERN = re.compile(r"^Expected `str` matching regex '(?P<regex>.*)'$", re.DOTALL)
_LENGTH = re.compile(r"^Expected `(?P<kind>\w+)` of length (?P<op>[<>]=?) (?P<bound>\d+)$")
_RANGE = re.compile(r"^Expected `\w+` (?P<op>[<>]=?) (?P<bound>-?[\d.e+]+)$")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`$")
_FIXED = {
    "Invalid UUID": "must be a UUID",
    "Invalid RFC3339 encoded datetime": "must be an RFC 3339 timestamp with an offset",
    "Expected `datetime` with a timezone component": "must be an RFC 3339 timestamp with an offset",
    "Invalid RFC3339 encoded date": "must be a date (YYYY-MM-DD)",
}


def in_words(field: str, message: str, annotation: Any = None) -> tuple[str, str]:
    """(field, message) for msgspec's `message` about `field` (of type `annotation`, when known): a missing or
    unknown member of an object names that member as the field."""
    if match := _MISSING.match(message):
        return f"{field}.{match['name']}", "is required"
    if match := _UNKNOWN.match(message):
        return f"{field}.{match['name']}", "is not a known field"
    return field, _plain(field.rsplit(".", 1)[-1], message, annotation)


def _plain(name: str, message: str, annotation: Any) -> str:
    if message in _FIXED:
        return _FIXED[message]
    choices = _enum_values(annotation)
    if choices and (message.startswith("Invalid enum value") or _WRONG_TYPE.match(message)):
        return f"must be one of {', '.join(choices)}"
    if match := _WRONG_TYPE.match(message):
        return "must be " + " or ".join(_TYPES.get(kind, "a valid value") for kind in match["expected"].split(" | "))
    if match := _PATTERN.match(message):
        control_characters = match["regex"].startswith("^[^\\\\x00")
        return FORMATS.get(name) or ("must not contain control characters" if control_characters else "is invalid")
    if match := _LENGTH.match(message):
        bound = f"{_BOUNDS[match['op']]} {_count(match['bound'], _UNITS.get(match['kind'], 'item'))}"
        return f"must be {bound} long" if match["kind"] == "str" else f"must hold {bound}"
    if match := _RANGE.match(message):
        return f"must be {_BOUNDS[match['op']]} {match['bound']}"
    return "is invalid"


def _count(number: str, unit: str) -> str:
    return f"{number} {unit}" if number == "1" else f"{number} {unit}s"


def _enum_values(annotation: Any) -> list[str]:
    """The values of the first enum found in a type (through Optional, list, Annotated...)."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    for argument in typing.get_args(annotation):
        if values := _enum_values(argument):
            return values
    return []
