"""Reference data as it arrives over HTTP: CSV, Parquet or JSON rows.

Everything a caller can get wrong (empty body, wrong type, unreadable bytes,
rows that are not objects) is an ``UploadError`` (4xx) naming the problem.

Example:
    >>> frame_from_bytes(b"x,y\\n1,a\\n2,b\\n", "text/csv").shape
    (2, 2)
    >>> frame_from_bytes(b'[{"x": 1}, {"x": 2}]', "application/json")["x"].tolist()
    [1, 2]
"""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd

from inferwatch.drift.engine_errors import UploadError

CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})
PARQUET_TYPES = frozenset(
    {"application/vnd.apache.parquet", "application/x-parquet", "application/parquet"}
)
JSON_TYPES = frozenset({"application/json"})
PARQUET_MAGIC = b"PAR1"
ACCEPTED = (
    "text/csv, application/vnd.apache.parquet (or application/octet-stream), application/json"
)


def frame_from_bytes(body: bytes, content_type: str | None) -> pd.DataFrame:
    """Parse an upload by its media type into a non-empty frame."""
    media = (content_type or "").split(";")[0].strip().lower()
    if not body.strip():
        raise UploadError("the uploaded body is empty; send at least one row")
    if media in CSV_TYPES:
        frame = _csv(body)
    elif media in PARQUET_TYPES or (
        media == "application/octet-stream" and body.startswith(PARQUET_MAGIC)
    ):
        frame = _parquet(body)
    elif media in JSON_TYPES:
        frame = _json(body)
    else:
        raise UploadError(
            f"content type {media or 'none'!r} is not supported; send {ACCEPTED}",
            status_code=415,
        )
    return _non_empty(frame)


def _csv(body: bytes) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise UploadError(f"cannot read the CSV: {exc}") from exc


def _parquet(body: bytes) -> pd.DataFrame:
    if not body.startswith(PARQUET_MAGIC):
        raise UploadError("the body is not Parquet (no PAR1 magic bytes)")
    try:
        return pd.read_parquet(io.BytesIO(body))
    except Exception as exc:  # pyarrow raises many types for damaged files
        raise UploadError(f"cannot read the Parquet data: {exc}") from exc


def _json(body: bytes) -> pd.DataFrame:
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UploadError(f"the body is not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        data = data["rows"]
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        columns = data["columns"]
        if not all(isinstance(v, list) for v in columns.values()):
            raise UploadError('"columns" must map each column name to a list of values')
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise UploadError('every list in "columns" must have the same length')
        return pd.DataFrame(columns)
    if not isinstance(data, list):
        raise UploadError(
            'JSON must be a list of row objects, {"rows": [...]} or {"columns": {...}}'
        )
    bad = next((i for i, row in enumerate(data) if not isinstance(row, dict)), None)
    if bad is not None:
        raise UploadError(f"row {bad} is not a JSON object")
    return pd.DataFrame.from_records(data)


def _non_empty(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or len(frame.columns) == 0:
        raise UploadError("the upload has no rows or no columns")
    frame.columns = [str(c) for c in frame.columns]
    return frame
