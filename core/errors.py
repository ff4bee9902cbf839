"""The core's exception tree.

    InferwatchError
    ├── ConfigError        settings that cannot be loaded or are unsafe
    ├── StorageError       the state store failed or its schema is unknown
    │   └── StorageBusyError   another writer held the lock too long (HTTP 503 + Retry-After)
    └── ClientError        a caller's mistake; the HTTP layer answers it with 4xx
        ├── NotFoundError  404
        └── ConflictError  409

Every part may derive its own errors from these; the HTTP app factory turns any
``ClientError`` into a JSON 4xx answer that says what was wrong.
"""


class InferwatchError(Exception):
    """Base of every error inferwatch raises on purpose."""


class ConfigError(InferwatchError):
    """Settings could not be loaded, failed validation, or are unsafe."""


class StorageError(InferwatchError):
    """The state store failed, or holds a schema newer than this code knows."""


class StorageBusyError(StorageError):
    """The state store stayed locked by another writer past the busy timeout; retry later."""

    retry_after_seconds: int = 5


class ClientError(InferwatchError):
    """A request was wrong; ``status_code`` is the 4xx the HTTP layer answers with."""

    status_code: int = 400

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(ClientError):
    """The addressed resource does not exist."""

    status_code = 404


class ConflictError(ClientError):
    """The request clashes with existing state (e.g. an immutable baseline)."""

    status_code = 409
