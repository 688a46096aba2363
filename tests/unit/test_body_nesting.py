"""The nesting bound measures what a JSON decoder would nest, whatever the strings hold."""

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from api.validation import MAX_NESTING, nested_too_deep, nesting

# Strings full of what could confuse a scan: brackets, quotes and backslashes.
TRICKY_TEXT = st.text(alphabet=st.sampled_from('[]{}"\\ab/'), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | TRICKY_TEXT


def documents(max_leaves: int) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
        max_leaves=max_leaves,
    )


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


def wrapped(value: Any, levels: int) -> Any:
    for level in range(levels):
        value = [value] if level % 2 else {"[": value}
    return value


@given(documents(max_leaves=40))
def test_the_depth_is_the_decoded_depth(document: Any) -> None:
    assert nesting(msgspec.json.encode(document)) == depth(document)


@given(documents(max_leaves=10), st.integers(min_value=0, max_value=2 * MAX_NESTING))
def test_too_deep_is_past_the_bound(document: Any, levels: int) -> None:
    value = wrapped(document, levels)
    assert nested_too_deep(msgspec.json.encode(value)) == (depth(value) > MAX_NESTING)


def test_a_thousand_levels_are_too_deep_and_thirty_two_are_not() -> None:
    assert nested_too_deep(b"[" * 1000 + b"]" * 1000)
    assert not nested_too_deep(b"[" * MAX_NESTING + b"]" * MAX_NESTING)
    assert not nested_too_deep(b'["' + b"[" * 1000 + b'"]')
