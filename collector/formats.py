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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

from inferwatch.collector import validate
from inferwatch.collector.arrow_budget import ipc_size
from inferwatch.collector.errors import (
    BodyTooLargeError,
    FormatError,
    RecordError,
    UnsupportedMediaError,
    short,
)
from inferwatch.collector.limits import (
    DEFAULT_LIMITS,
    IngestLimits,
    check_arrow,
    check_names,
    check_rows,
    check_table,
)
from inferwatch.contracts.spec import BaselineSpec
from inferwatch.jsonscan import JsonLimitError, check_json

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
    body: bytes,
    content_type: str | None,
    baseline: BaselineSpec,
    *,
    allow_unknown: bool,
    limits: IngestLimits = DEFAULT_LIMITS,
    scanned: bool = False,
) -> ParsedBatch:
    """Read the body of ``POST /collector/models/{model}/records``, checked completely.

    ``scanned``: admission already held a JSON body to these depth and value limits.
    """
    try:
        parsed = _parse_records(
            body, content_type, baseline, allow_unknown, limits=limits, scanned=scanned
        )
    except pa.ArrowException as exc:  # a conversion no check above foresaw: still the body's
        raise RecordError(f"records cannot be converted: {short(str(exc))}") from exc
    check_table(parsed.table, limits)
    return parsed


def _parse_records(
    body: bytes,
    content_type: str | None,
    baseline: BaselineSpec,
    allow_unknown: bool,
    *,
    limits: IngestLimits,
    scanned: bool,
) -> ParsedBatch:
    kind = media_type(content_type)
    if kind in (ARROW_STREAM, ARROW_FILE):
        table = read_arrow(body, stream=kind == ARROW_STREAM, limits=limits)
        name = "arrow_stream" if kind == ARROW_STREAM else "arrow_file"
        return ParsedBatch(validate.from_table(table, baseline, allow_unknown=allow_unknown), name)
    if kind == JSON or kind.endswith("+json"):
        if not scanned:
            check_json_limits(body, limits)
        columnar = read_columnar_json(body)
        if columnar is not None:
            check_names(columnar.column_names, limits)
            check_rows(columnar.num_rows, limits)
            table = validate.from_table(columnar, baseline, allow_unknown=allow_unknown)
            return ParsedBatch(table, "json_columns")
        value = load_json(body, limits, scanned=True)  # held to the limits just above
        return parse_json_value(value, baseline, allow_unknown=allow_unknown, limits=limits)
    raise UnsupportedMediaError(
        f"content type {kind!r} is not read here; use one of {', '.join(MEDIA_TYPES)}"
    )


def check_json_limits(body: bytes, limits: IngestLimits) -> None:
    """400 / 413 before a recursive parser meets a body nested too deep or too many values."""
    try:
        check_json(body, max_depth=limits.max_json_depth, max_elements=limits.max_json_elements)
    except JsonLimitError as exc:
        if exc.too_deep:
            raise FormatError(f"{exc} (server.limits.max_json_depth)") from exc
        raise BodyTooLargeError(f"{exc} (server.limits.max_json_elements)") from exc


def load_json(body: bytes, limits: IngestLimits = DEFAULT_LIMITS, *, scanned: bool = False) -> Any:
    """Decode a JSON body within the limits, answering 400 when it is not JSON."""
    if not scanned:
        check_json_limits(body, limits)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(f"body is not valid JSON: {short(str(exc))}") from exc


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


def read_arrow(body: bytes, *, stream: bool, limits: IngestLimits = DEFAULT_LIMITS) -> pa.Table:
    """Read an Arrow IPC stream or file within the limits, answering 400 when it is not one.

    Rows and decoded bytes are summed from the IPC metadata before anything is
    decoded (``arrow_budget``), then counted again batch by batch while decoding.
    """
    declared = ipc_size(body, stream=stream)
    check_rows(declared.rows, limits)
    _check_decoded(declared.decoded_bytes, limits)
    kind = "stream" if stream else "file"
    try:
        if stream:
            reader = pa.ipc.open_stream(body)
            batches = list(_bounded(iter(reader), limits))
            schema = reader.schema
        else:
            file_reader = pa.ipc.open_file(body)
            batches = list(
                _bounded(
                    (file_reader.get_batch(i) for i in range(file_reader.num_record_batches)),
                    limits,
                )
            )
            schema = file_reader.schema
        table = pa.Table.from_batches(batches, schema=schema)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise FormatError(f"body is not a valid Arrow IPC {kind}: {short(str(exc))}") from exc
    check_arrow(table, limits)
    return table


def _bounded(batches: Iterator[pa.RecordBatch], limits: IngestLimits) -> Iterator[pa.RecordBatch]:
    rows = decoded = 0
    for batch in batches:
        rows += batch.num_rows
        decoded += batch.get_total_buffer_size()
        check_rows(rows, limits)
        _check_decoded(decoded, limits)
        yield batch


def _check_decoded(size: int, limits: IngestLimits) -> None:
    if size > limits.max_decoded_bytes:
        raise BodyTooLargeError(
            f"Arrow body decodes to {size} bytes; the limit is {limits.max_decoded_bytes} "
            "(collector.max_decoded_bytes)"
        )


def parse_json_value(
    value: Any,
    baseline: BaselineSpec,
    *,
    allow_unknown: bool,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> ParsedBatch:
    """Rows, columns, KServe v1 instances or v2 inputs, told apart by shape, checked completely."""
    parsed = _json_value(value, baseline, allow_unknown, limits)
    check_table(parsed.table, limits)
    return parsed


def _json_value(
    value: Any, baseline: BaselineSpec, allow_unknown: bool, limits: IngestLimits
) -> ParsedBatch:
    if isinstance(value, list):
        check_rows(len(value), limits)
        check_names(_keys(value), limits)
        return ParsedBatch(
            validate.from_rows(value, baseline, allow_unknown=allow_unknown), "json_rows"
        )
    if not isinstance(value, dict):
        raise FormatError(f"expected a JSON array or object, got {type(value).__name__}")
    if "columns" in value:
        columns = value["columns"]
        if not isinstance(columns, dict):
            raise FormatError('"columns" must be an object of feature -> list of values')
        check_names(columns, limits)
        table = validate.from_columns(columns, baseline, allow_unknown=allow_unknown)
        return ParsedBatch(table, "json_columns")
    if "records" in value:
        return _json_value(_listed(value["records"], "records"), baseline, allow_unknown, limits)
    if "instances" in value:
        instances = _listed(value["instances"], "instances")
        check_rows(len(instances), limits)
        check_names(_keys(instances), limits)
        return ParsedBatch(_instances(instances, baseline, allow_unknown), "kserve_v1")
    if "inputs" in value:
        inputs = value["inputs"]
        if isinstance(inputs, list):
            check_names((t.get("name") for t in inputs if isinstance(t, dict)), limits)
        table = _inputs(inputs, baseline, allow_unknown)
        check_rows(table.num_rows, limits)
        return ParsedBatch(table, "kserve_v2")
    raise FormatError(
        'unknown JSON shape: send a list of records, {"records": [...]}, {"columns": {...}}, '
        '{"instances": [...]} or {"inputs": [...]}'
    )


def _listed(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise FormatError(f'"{key}" must be a list')
    return value


def _keys(rows: list[Any]) -> set[str]:
    """Every key of the objects among ``rows`` (names are checked before anything else)."""
    keys: set[str] = set()
    for row in rows:
        if isinstance(row, dict):
            keys.update(row)
    return keys


def _instances(value: list[Any], baseline: BaselineSpec, allow_unknown: bool) -> pa.Table:
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


def _inputs(value: Any, baseline: BaselineSpec, allow_unknown: bool) -> pa.Table:
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
                f"tensor {short(tensor.get('name'))} must have shape [n, {width}] (features in "
                f"baseline order) or be named after a feature"
            )
        if len(data) % width:
            raise RecordError(
                f"tensor {short(tensor.get('name'))} data does not fill shape {shape}"
            )
        columns = {name: data[j::width] for j, name in enumerate(names)}
        return validate.from_columns(columns, baseline, allow_unknown=True)
    columns = {name: _flat(tensor) for name, tensor in tensors.items()}
    return validate.from_columns(columns, baseline, allow_unknown=allow_unknown)


def _flat(tensor: Mapping[str, Any]) -> list[Any]:
    data = tensor.get("data")
    if not isinstance(data, list):
        raise FormatError(f"tensor {short(tensor.get('name'))} has no data list")
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


def read_cloudevent(
    body: bytes,
    headers: Mapping[str, str],
    limits: IngestLimits = DEFAULT_LIMITS,
    scanned: bool = False,
) -> CloudEvent:
    """A CloudEvent in binary mode (``ce-*`` headers, body = data) or structured mode.

    ``scanned``: admission already held the body to the JSON limits (not ``data_base64``).
    """
    kind = media_type(headers.get("content-type"))
    if kind == CLOUDEVENTS_JSON:
        envelope = load_json(body, limits, scanned=scanned)
        if not isinstance(envelope, dict):
            raise FormatError("a structured CloudEvent must be a JSON object")
        if "data_base64" in envelope:
            try:
                decoded = base64.b64decode(str(envelope["data_base64"]), validate=True)
            except ValueError as exc:
                raise FormatError(f"data_base64 is not base64: {short(str(exc))}") from exc
            data = load_json(decoded, limits)
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
        data=load_json(body, limits, scanned=scanned),
    )
