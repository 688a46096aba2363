"""A row of the benchmark table, and the results it is made from."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
TIMES = "\u00d7"


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    baseline: str
    ratio: float
    target: str
    met: bool
    date: str


def load(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    found: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return found


def at_least(ratio: float, target: float) -> tuple[str, bool]:
    return f"≥ {target:g}{TIMES}" if target >= 1 else f"≥ {target:.0%}", ratio >= target
