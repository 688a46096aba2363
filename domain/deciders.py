"""The shape every aggregate's decider shares: `decide`, `evolve(state, event, at)`, `INITIAL` and `fold`."""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

S = TypeVar("S")
E = TypeVar("E")

# (state, one event, when it was recorded) -> state; None: the time is not known (a decision not yet recorded).
Evolve = Callable[[S, E, datetime | None], S]


def fold_with(evolve: Evolve[S, E], events: Iterable[E], state: S, at: datetime | None) -> S:
    """The state after `events`, each folded by `evolve` as recorded at `at`."""
    for event in events:
        state = evolve(state, event, at)
    return state
