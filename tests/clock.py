"""A clock the test moves by hand (the application reads time only through its Clock port)."""

from datetime import datetime, timedelta


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> None:
        self._now += by

    def set(self, now: datetime) -> None:
        self._now = now
