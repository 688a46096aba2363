"""The real clock and id source."""

import uuid
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        # Microseconds, as PostgreSQL stores them, so a value reads back equal to what was written.
        return datetime.now(UTC)


class RandomIds:
    def new(self) -> uuid.UUID:
        return uuid.uuid4()
