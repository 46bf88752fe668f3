"""Domain errors of the server. Services raise these; the HTTP edge maps them to status codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: ``code`` is stable (clients switch on it), the message is for people."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **extra: object) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Invalid(DomainError):
    code = "validation"


class InvalidNik(Invalid):
    code = "invalid_nik"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"
