"""The drift engine's exception tree (store, engine, PromQL, reports, HTTP API).

    InferwatchError                      (inferwatch.errors)
    ├── ClientError                      a caller's mistake -> 4xx
    │   ├── UploadError                  reference data that cannot make a baseline (413/415/422)
    │   └── NotFoundError
    │       ├── BaselineNotFoundError    no baseline (or no such version) for the model
    │       └── NoLiveDataError          no window, result or report for the model yet
    └── DriftEngineError                 the engine's own failures
        └── PromQLError                  the Prometheus API failed or answered nonsense

The statistics' own errors (``BaselineError`` for bad reference data) are turned
into ``UploadError`` at the edge.
"""

from __future__ import annotations

from inferwatch.errors import ClientError, InferwatchError, NotFoundError
from inferwatch.promql import PromQLError as CorePromQLError


class UploadError(ClientError):
    """Uploaded reference or live data is empty, unreadable or of a type we do not take."""

    status_code = 422


class BaselineNotFoundError(NotFoundError):
    """The model has no baseline, or not the asked version."""


class NoLiveDataError(NotFoundError):
    """There is no live window, result or report for the model yet."""


class DriftEngineError(InferwatchError):
    """The engine could not evaluate (its inputs failed, not the caller)."""


class PromQLError(DriftEngineError, CorePromQLError):
    """A PromQL query failed: unreachable API, error status, or an unexpected answer.

    Also an ``inferwatch.promql.PromQLError``: the one PromQL client raises it for drift.
    """
