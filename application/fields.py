"""The constrained fields commands take from the wire: the domain's limits, checked on decoding and documented."""

from datetime import datetime
from typing import Annotated

import msgspec

from domain.values import DESCRIPTION_MAX, EMAIL_MAX, NAME_MAX, TITLE_MAX

PASSWORD_MIN = 8
PASSWORD_MAX = 128

_PRINTABLE = r"[^\x00-\x1f\x7f]"
_SOLID = r"[^\x00-\x1f\x7f\s]"
# Tab and line breaks are allowed in a description; other control characters nowhere.
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_EMAIL_PART = r"[^@\s\x00-\x1f\x7f]+"


def _trimmed(most: int) -> str:
    """A pattern for 1 to `most` characters once the surrounding whitespace is trimmed, none of them control ones."""
    return rf"^\s*{_SOLID}(?:{_PRINTABLE}{{0,{most - 2}}}{_SOLID})?\s*$"


TITLE_RULE = f"1-{TITLE_MAX} characters after trimming"
NAME_RULE = f"1-{NAME_MAX} characters after trimming"

# Each text field is bounded as sent too, surrounding whitespace included (a title of 200 characters may come padded).
Title = Annotated[
    str,
    msgspec.Meta(
        max_length=1000,
        pattern=_trimmed(TITLE_MAX),
        description=f"{TITLE_RULE}, no control characters",
        examples=["Write the quarterly report"],
    ),
]
Description = Annotated[str, msgspec.Meta(max_length=DESCRIPTION_MAX, pattern=NO_CONTROL)]
Name = Annotated[str, msgspec.Meta(max_length=300, pattern=_trimmed(NAME_MAX))]
Email = Annotated[
    str,
    msgspec.Meta(
        max_length=EMAIL_MAX,
        pattern=rf"^\s*{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}\s*$",
        examples=["ada@example.com"],
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with an offset; stored in UTC")]
RefreshTokenText = Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_-]+$")]


class Command(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """Base of the commands that arrive as request bodies: camelCase on the wire, unknown fields refused."""
