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
