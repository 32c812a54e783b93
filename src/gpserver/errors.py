"""Domain errors. No HTTP here: ``gpserver.api.errors`` decides how each one is shown.

GPServerError
 ├─ NotFoundError: UnknownServiceError, UnknownFolderError, UnknownTaskError,
 │                 UnknownJobError, UnknownParameterError
 ├─ InvalidRequestError            a request the resource cannot answer (bad f, wrong operation)
 │   └─ InvalidParameterError      a value that does not fit its GP type
 ├─ AuthError: TokenRequiredError, InvalidTokenError, PermissionDeniedError
 ├─ ToolExecutionError             a tool failed; carries the messages so far
 ├─ JobCancelledError              raised inside a tool when its job was cancelled
 ├─ LimitExceededError             size, count or rate limits
 │   └─ TooManyRequestsError       the rate limit, or too many queued jobs
 └─ ConfigurationError             a bad services file, settings or tool declaration
"""

from __future__ import annotations

from collections.abc import Sequence


class GPServerError(Exception):
    """Base of every error this server raises on purpose.

    Attributes:
        message: one line for the client.
        details: further lines for the client (ArcGIS ``error.details``).
    """

    def __init__(self, message: str, *, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)


class NotFoundError(GPServerError):
    """A resource that does not exist (ArcGIS answers "Invalid URL")."""


class UnknownServiceError(NotFoundError):
    """No such service."""


class UnknownFolderError(NotFoundError):
    """No such folder."""


class UnknownTaskError(NotFoundError):
    """No such task in the service."""


class UnknownJobError(NotFoundError):
    """No such job (or one the caller may not see)."""


class UnknownParameterError(NotFoundError):
    """No such result or input parameter."""


class InvalidRequestError(GPServerError):
    """A request the resource cannot answer."""


class InvalidParameterError(InvalidRequestError):
    """A parameter value that does not fit its GP type, choice list or range."""


class AuthError(GPServerError):
    """Base of authentication and authorisation errors."""


class TokenRequiredError(AuthError):
    """A secured resource was called without a token."""


class InvalidTokenError(AuthError):
    """The token is unknown, expired or revoked."""


class PermissionDeniedError(AuthError):
    """The caller is known but not allowed."""


class ToolExecutionError(GPServerError):
    """A tool failed while running."""


class JobCancelledError(GPServerError):
    """Raised by ``ToolContext.check_cancelled`` when the job was cancelled."""


class JobTimedOutError(GPServerError):
    """Raised by ``ToolContext.check_cancelled`` when the job ran past its time limit."""


class LimitExceededError(GPServerError):
    """A size, count or rate limit was exceeded."""


class TooManyRequestsError(LimitExceededError):
    """Too many requests in the last minute, or too many jobs waiting."""


class ConfigurationError(GPServerError):
    """Bad configuration: a services file, a setting or a tool declaration."""
