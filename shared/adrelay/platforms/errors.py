"""The one error taxonomy every platform's errors are classified into (see `ErrorCategory`).

httpx's exception tree is the model: callers catch `PlatformCallError` and look at its category, or
catch `OutcomeUnknown` for the one case that matters most to exactly-once creation: a write that may
or may not have happened.
"""

from __future__ import annotations

from typing import Any

from adrelay.events.payloads import ErrorCategory, PlatformError

# Categories the engine retries; everything else fails the step (auth is retried once after refresh).
RETRYABLE = frozenset({ErrorCategory.RATE_LIMIT, ErrorCategory.TRANSIENT})


class PlatformException(Exception):
    """Base of everything a platform call can raise."""


class PlatformCallError(PlatformException):
    """The platform answered with an error (classified), or could not be reached before sending."""

    def __init__(
        self, error: PlatformError, *, retry_after_s: float | None = None, http_status: int | None = None
    ):
        super().__init__(f"{error.category.value}: {error.message}")
        self.error = error
        self.retry_after_s = retry_after_s
        self.http_status = http_status

    @property
    def category(self) -> ErrorCategory:
        return self.error.category

    @property
    def retryable(self) -> bool:
        return self.error.retryable or self.category in RETRYABLE

    @classmethod
    def of(
        cls,
        category: ErrorCategory,
        message: str,
        *,
        retry_after_s: float | None = None,
        http_status: int | None = None,
        **fields: Any,
    ) -> PlatformCallError:
        """A classified error; `fields` are PlatformError fields (platform_code, blamed_fields, ...)."""
        error = PlatformError(category=category, message=message, retryable=category in RETRYABLE, **fields)
        return cls(error, retry_after_s=retry_after_s, http_status=http_status)


class OutcomeUnknown(PlatformException):
    """A write was sent but no answer came back (timeout, dropped connection): it may have happened.

    The engine never simply retries such a write; it looks the object up by its tag first.
    """


class LookupIncomplete(PlatformException):
    """A lookup by tag could not finish (e.g. a paged scan failed midway): absence is not proven,
    so the engine must not create."""


class NotFound(PlatformException):
    """The object does not exist (or no longer). Deletes treat this as success."""
