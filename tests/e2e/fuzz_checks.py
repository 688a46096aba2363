"""Checks of our own that schemathesis runs on every response of the fuzzing test (SCHEMATHESIS_HOOKS names this
module): whatever it sends, a 400 names its fields as the wire does and says what is wrong in plain words."""

from typing import Any

import schemathesis

from tests.e2e.helpers import INTERNAL_WORDING, WIRE_NAME


@schemathesis.check
def plain_field_errors(ctx: Any, response: Any, case: Any) -> None:
    """A 400's `errors`: wire names (ownerId, fee.amount, Idempotency-Key), no Python type or regular expression.
    (An unknown field is named as the client sent it.)"""
    if response.status_code != 400:
        return
    for error in response.json().get("errors") or []:
        if error["message"] != "is not a known field":
            assert WIRE_NAME.match(error["field"]), f"field named as Python names it: {error}"
        assert not INTERNAL_WORDING.search(error["message"]), f"message not in plain words: {error}"
