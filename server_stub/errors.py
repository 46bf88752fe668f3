"""Domain errors of the server. Services raise these; the HTTP edge maps them to status codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: ``code`` is stable (clients switch on it), the message is for people."""

    code = "error"
    #: True: the request's unit of work commits what the service wrote before raising (an audit entry
    #: of a refused attempt) instead of rolling it back. Only for errors raised before any other write.
    keep_writes = False

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


class EnrolmentCodeInvalid(Unauthorized):
    """An enrolment code that is unknown, used, revoked or expired: one code, one message for all four
    (no oracle). The refused attempt stays in the audit log."""

    code = "enrolment_code_invalid"
    keep_writes = True


class Forbidden(DomainError):
    code = "forbidden"


class OutOfScope(Forbidden):
    """A terminal asked for something outside its scope (another region's pending updates, ...). The
    refused attempt stays in the audit log."""

    code = "out_of_scope"
    keep_writes = True


class AuthenticationFailed(Unauthorized):
    """A bearer token that is unknown, expired, replaced or of a deactivated terminal or clerk. The
    failure is counted (lockouts) and audited before any other write, and both stay."""

    keep_writes = True


class TooManyAttempts(DomainError):
    """Too many failed authentications from this address or with this token: locked out for
    ``retry_after`` seconds (HTTP 429 with ``Retry-After``). The refusal is counted and kept."""

    code = "too_many_attempts"
    keep_writes = True

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after
