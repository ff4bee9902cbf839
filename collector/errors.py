"""The collector's exception tree (all derive from the core's ``ClientError``).

ClientError (inferwatch.errors)
├── FormatError          400  body cannot be read in the announced format
├── UnsupportedMediaError 415 content type the collector does not read
├── BodyTooLargeError    413  body above ``max_body_bytes``; more records or decoded bytes
│                             than ``max_rows_per_request`` / ``max_decoded_bytes``
├── NoBaselineError      404  the model has no baseline, so no schema to check against
├── RecordError          422  a record breaks the baseline's schema (names field and row)
└── QueueFullError       429  the bounded queue is full; answered with Retry-After
"""

from __future__ import annotations

from inferwatch.errors import ClientError, NotFoundError

_SHOWN = 60


def short(value: object) -> str:
    """``repr`` of a client's value, cut to a readable length (a 5 MB name stays out of errors).

    Example:
        >>> short("x" * 100)
        "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (100 chars)"
    """
    if isinstance(value, str) and len(value) > _SHOWN:
        return f"{value[:_SHOWN]!r}... ({len(value)} chars)"
    return repr(value)


class FormatError(ClientError):
    """The body is not valid JSON / Arrow IPC / CloudEvent, or has an unknown shape."""

    status_code = 400


class UnsupportedMediaError(ClientError):
    """A content type the collector does not read."""

    status_code = 415


class BodyTooLargeError(ClientError):
    """The body is larger than the configured limit."""

    status_code = 413


class NoBaselineError(NotFoundError):
    """No baseline is known for the model: records cannot be validated, so none is taken."""


class RecordError(ClientError):
    """A record does not fit the baseline's schema."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None) -> None:
        where = []
        if field is not None:
            where.append(f"field {short(field)}")
        if row is not None:
            where.append(f"row {row}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message)
        self.field = field
        self.row = row


class QueueFullError(ClientError):
    """The ingest queue is at capacity; the caller should retry later."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
