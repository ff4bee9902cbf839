"""Read request bodies: JSON rows, columnar JSON, Arrow IPC, KServe / CloudEvents.

Each reader returns a ``ParsedBatch``: the records in the collector's columnar
form (see ``validate``) plus the format's name for the metrics. JSON bodies are
told apart by shape:

- ``[{...}, ...]`` or ``{"records": [{...}, ...]}``: rows;
- ``{"columns": {"feature": [...], ...}}``: columnar;
- ``{"instances": [...]}`` (KServe v1): rows as objects, or lists in baseline order;
- ``{"inputs": [{"name", "shape", "datatype", "data"}]}`` (KServe v2 / Open Inference
  Protocol): one tensor per feature, or one ``[n, features]`` tensor in baseline order.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

from inferwatch.collector import validate
from inferwatch.collector.errors import FormatError, RecordError, UnsupportedMediaError
from inferwatch.drift.baseline import Baseline

ARROW_STREAM = "application/vnd.apache.arrow.stream"
ARROW_FILE = "application/vnd.apache.arrow.file"
JSON = "application/json"
CLOUDEVENTS_JSON = "application/cloudevents+json"
MEDIA_TYPES = (JSON, ARROW_STREAM, ARROW_FILE)

KSERVE_REQUEST = "org.kubeflow.serving.inference.request"
KSERVE_RESPONSE = "org.kubeflow.serving.inference.response"


@dataclass(frozen=True)
class ParsedBatch:
    """Validated records of one request."""

    table: pa.Table
    format: str

    @property
    def rows(self) -> int:
        """Number of records."""
        return int(self.table.num_rows)


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header (JSON when absent)."""
    if not content_type:
        return JSON
    return content_type.split(";", 1)[0].strip().lower()


def parse_records(
    body: bytes, content_type: str | None, baseline: Baseline, *, allow_unknown: bool
) -> ParsedBatch:
    """Read the body of ``POST /collector/models/{model}/records``."""
    try:
        return _parse_records(body, content_type, baseline, allow_unknown=allow_unknown)
    except pa.ArrowException as exc:  # a conversion no check above foresaw: still the body's
        raise RecordError(f"records cannot be converted: {exc}") from exc


def _parse_records(
    body: bytes, content_type: str | None, baseline: Baseline, *, allow_unknown: bool
) -> ParsedBatch:
    kind = media_type(content_type)
    if kind in (ARROW_STREAM, ARROW_FILE):
        table = read_arrow(body, stream=kind == ARROW_STREAM)
        name = "arrow_stream" if kind == ARROW_STREAM else "arrow_file"
        return ParsedBatch(validate.from_table(table, baseline, allow_unknown=allow_unknown), name)
    if kind == JSON or kind.endswith("+json"):
        columnar = read_columnar_json(body)
        if columnar is not None:
            table = validate.from_table(columnar, baseline, allow_unknown=allow_unknown)
            return ParsedBatch(table, "json_columns")
        return parse_json_value(load_json(body), baseline, allow_unknown=allow_unknown)
    raise UnsupportedMediaError(
        f"content type {kind!r} is not read here; use one of {', '.join(MEDIA_TYPES)}"
    )


def load_json(body: bytes) -> Any:
    """Decode a JSON body, answering 400 when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"body is not valid JSON: {exc}") from exc


def read_columnar_json(body: bytes) -> pa.Table | None:
    """Fast path for ``{"columns": {...}}``: parsed by Arrow's JSON reader, no Python objects.

    Returns None whenever the body is not a clean single-line columnar document
    (pretty-printed, ``NaN`` tokens, mixed types in a column, ragged columns...):
    the general path then reads it and names any error precisely.
    """
    head = body[:64].lstrip()
    if not head.startswith(b"{") or b'"columns"' not in head or b"\n" in body.rstrip():
        return None
    try:
        parsed = pa_json.read_json(
            io.BytesIO(body),
            read_options=pa_json.ReadOptions(block_size=len(body) + 1, use_threads=False),
        )
    except (pa.ArrowException, ValueError):
        return None
    if parsed.num_rows != 1 or parsed.column_names != ["columns"]:
        return None
    try:
        return _columns_table(parsed.column("columns"))
    except pa.ArrowException:  # e.g. all-null columns trip Arrow's struct slicing
        return None


def _columns_table(column: pa.ChunkedArray) -> pa.Table | None:
    if not pa.types.is_struct(column.type) or column.null_count or column.num_chunks != 1:
        return None
    struct = column.chunk(0)
    arrays: list[pa.Array] = []
    names: list[str] = []
    for index in range(struct.type.num_fields):
        field = struct.type.field(index)
        values = struct.field(index)
        if not pa.types.is_list(field.type) or values.null_count:
            return None
        if pa.types.is_nested(field.type.value_type) or pa.types.is_null(field.type.value_type):
            return None
        arrays.append(values.flatten())
        names.append(field.name)
    if len({len(a) for a in arrays}) > 1:
        return None
    return pa.Table.from_arrays(arrays, names=names)


def read_arrow(body: bytes, *, stream: bool) -> pa.Table:
    """Read an Arrow IPC stream or file, answering 400 when it is not one."""
    try:
        reader = pa.ipc.open_stream(body) if stream else pa.ipc.open_file(body)
        return reader.read_all()
    except (pa.ArrowException, OSError, ValueError) as exc:
        kind = "stream" if stream else "file"
        raise FormatError(f"body is not a valid Arrow IPC {kind}: {exc}") from exc


def parse_json_value(value: Any, baseline: Baseline, *, allow_unknown: bool) -> ParsedBatch:
    """Rows, columns, KServe v1 instances or v2 inputs, told apart by shape."""
    if isinstance(value, list):
        return ParsedBatch(
            validate.from_rows(value, baseline, allow_unknown=allow_unknown), "json_rows"
        )
    if not isinstance(value, dict):
        raise FormatError(f"expected a JSON array or object, got {type(value).__name__}")
    if "columns" in value:
        columns = value["columns"]
        if not isinstance(columns, dict):
            raise FormatError('"columns" must be an object of feature -> list of values')
        table = validate.from_columns(columns, baseline, allow_unknown=allow_unknown)
        return ParsedBatch(table, "json_columns")
    if "records" in value:
        return ParsedBatch(_rows(value["records"], baseline, allow_unknown, "records"), "json_rows")
    if "instances" in value:
        instances = value["instances"]
        return ParsedBatch(_instances(instances, baseline, allow_unknown), "kserve_v1")
    if "inputs" in value:
        return ParsedBatch(_inputs(value["inputs"], baseline, allow_unknown), "kserve_v2")
    raise FormatError(
        'unknown JSON shape: send a list of records, {"records": [...]}, {"columns": {...}}, '
        '{"instances": [...]} or {"inputs": [...]}'
    )


def _rows(value: Any, baseline: Baseline, allow_unknown: bool, key: str) -> pa.Table:
    if not isinstance(value, list):
        raise FormatError(f'"{key}" must be a list of objects')
    return validate.from_rows(value, baseline, allow_unknown=allow_unknown)


def _instances(value: Any, baseline: Baseline, allow_unknown: bool) -> pa.Table:
    if not isinstance(value, list):
        raise FormatError('"instances" must be a list')
    if all(isinstance(v, dict) for v in value):
        return validate.from_rows(value, baseline, allow_unknown=allow_unknown)
    names = baseline.feature_names
    rows: list[dict[str, Any]] = []
    for i, instance in enumerate(value):
        if not isinstance(instance, list) or len(instance) != len(names):
            raise RecordError(
                f"expected a list of {len(names)} values in baseline order "
                f"({', '.join(names)}) or an object",
                row=i,
            )
        rows.append(dict(zip(names, instance, strict=True)))
    return validate.from_rows(rows, baseline, allow_unknown=True)


def _inputs(value: Any, baseline: Baseline, allow_unknown: bool) -> pa.Table:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise FormatError('"inputs" must be a list of tensors {"name", "shape", "data"}')
    names = baseline.feature_names
    tensors = {str(t.get("name")): t for t in value}
    if len(tensors) == 1 and next(iter(tensors)) not in names:
        tensor = next(iter(tensors.values()))
        data = _flat(tensor)
        shape = tensor.get("shape")
        width = len(names)
        if not isinstance(shape, list) or len(shape) != 2 or shape[1] != width:
            raise RecordError(
                f"tensor {tensor.get('name')!r} must have shape [n, {width}] (features in "
                f"baseline order) or be named after a feature"
            )
        if len(data) % width:
            raise RecordError(f"tensor {tensor.get('name')!r} data does not fill shape {shape}")
        columns = {name: data[j::width] for j, name in enumerate(names)}
        return validate.from_columns(columns, baseline, allow_unknown=True)
    columns = {name: _flat(tensor) for name, tensor in tensors.items()}
    return validate.from_columns(columns, baseline, allow_unknown=allow_unknown)


def _flat(tensor: Mapping[str, Any]) -> list[Any]:
    data = tensor.get("data")
    if not isinstance(data, list):
        raise FormatError(f"tensor {tensor.get('name')!r} has no data list")
    if data and isinstance(data[0], list):
        flat: list[Any] = []
        stack = list(reversed(data))
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            else:
                flat.append(item)
        return flat
    return data


@dataclass(frozen=True)
class CloudEvent:
    """The attributes of a KServe inference-logger event the collector uses."""

    type: str
    model: str | None
    id: str | None
    data: Any


def read_cloudevent(body: bytes, headers: Mapping[str, str]) -> CloudEvent:
    """A CloudEvent in binary mode (``ce-*`` headers, body = data) or structured mode."""
    kind = media_type(headers.get("content-type"))
    if kind == CLOUDEVENTS_JSON:
        envelope = load_json(body)
        if not isinstance(envelope, dict):
            raise FormatError("a structured CloudEvent must be a JSON object")
        if "data_base64" in envelope:
            try:
                data = load_json(base64.b64decode(str(envelope["data_base64"]), validate=True))
            except ValueError as exc:
                raise FormatError(f"data_base64 is not base64 JSON: {exc}") from exc
        else:
            data = envelope.get("data")
        model = envelope.get("inferenceservicename")
        return CloudEvent(
            type=str(envelope.get("type", "")),
            model=str(model) if model else None,
            id=str(envelope["id"]) if envelope.get("id") is not None else None,
            data=data,
        )
    if "ce-type" not in headers:
        raise FormatError(
            "not a CloudEvent: send ce-* headers (binary mode) or "
            f"Content-Type {CLOUDEVENTS_JSON} (structured mode)"
        )
    if kind != JSON and not kind.endswith("+json"):
        raise UnsupportedMediaError(f"KServe events must carry JSON data, got {kind!r}")
    return CloudEvent(
        type=headers["ce-type"],
        model=headers.get("ce-inferenceservicename") or None,
        id=headers.get("ce-id"),
        data=load_json(body),
    )
