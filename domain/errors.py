"""Named domain errors: each says which rule a command broke."""


class DomainError(Exception):
    """A command that the current state does not allow."""


class TaskNotFound(DomainError):
    """The task does not exist (or was deleted)."""


class TaskAlreadyExists(DomainError):
    """A task stream can be created once only."""


class UserAlreadyExists(DomainError):
    """A user stream can be created once only."""


class UserNotFound(DomainError):
    """The user does not exist."""


class InvalidTask(DomainError):
    """A task field breaks a rule (`field` is its name on the wire)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class TaskHasNoFee(DomainError):
    """Only a task with a fee can be refunded."""


class RefundAlreadyRequested(DomainError):
    """A task is refunded once; its refund is requested already (or paid)."""


class FeeLocked(DomainError):
    """A task's fee cannot change once its refund is requested."""


class RefundNotFound(DomainError):
    """The refund does not exist."""


class AttemptNotAwaited(DomainError):
    """The refund is not waiting for this attempt (a duplicate delivery, or it is paid or failed already)."""


class RefundNotFailed(DomainError):
    """Only a FAILED refund (a dead letter) can be retried or dismissed."""
