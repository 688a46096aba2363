"""Application errors; the API maps each to one HTTP status in one place."""


class ApplicationError(Exception):
    """Base of every error a handler raises on purpose."""


class NotFound(ApplicationError):
    """No such resource, or it belongs to someone else (never confirm it exists)."""


class Forbidden(ApplicationError):
    """Authenticated, but the role may not do this."""


class Unauthenticated(ApplicationError):
    """Missing, malformed, expired or revoked credentials."""


class InvalidCredentials(Unauthenticated):
    """Unknown email or wrong password: one error for both, so neither is revealed."""


class Conflict(ApplicationError):
    """The command collides with the current state."""


class ConcurrencyError(Conflict):
    """Another writer appended to the stream first; reload and retry."""


class EmailTaken(Conflict):
    """The email is registered already."""


class PreconditionFailed(ApplicationError):
    """The client's expected version is not the current one."""


class InvalidInput(ApplicationError):
    """Input that passed the wire schema but breaks a rule (carries the offending field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ServiceUnavailable(ApplicationError):
    """A dependency (database, cache) did not answer; nothing was committed."""


class RateLimited(ApplicationError):
    """Too many attempts; `retry_after_seconds` says when the next one may succeed."""

    def __init__(self, limit: int, retry_after_seconds: int) -> None:
        super().__init__("rate limited")
        self.limit = limit
        self.retry_after_seconds = max(1, retry_after_seconds)
