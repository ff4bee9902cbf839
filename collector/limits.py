"""What one ingest request may hold, and the checks that finish every batch before it is queued.

Every format ends in the same columnar table (``validate``); ``check_table`` then
refuses, with a 4xx naming field and row, what the window writer could not store
or should not keep: strings that are not UTF-8 (Arrow carries raw bytes), strings
over ``max_string_bytes``, non-finite numbers, more rows than
``max_rows_per_request``. A batch that passed it cannot fail the writer's shared
transaction, so one client's bad batch never fails a neighbour's.

Non-finite numbers (``Infinity``, ``-Infinity``, ``1e400``) are refused with 422:
a missing value is ``null`` or ``NaN``; an infinity is an upstream bug that drift
would otherwise count as a value while the sample API could not show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from inferwatch.collector.errors import BodyTooLargeError, FormatError, RecordError, short


@dataclass(frozen=True)
class IngestLimits:
    """The collector's per-request limits (``collector.*`` and ``server.limits.*``)."""

    max_rows: int = 1_000_000
    max_decoded_bytes: int = 128 * 1024 * 1024
    max_string_bytes: int = 4096
    max_name_bytes: int = 256
    max_json_depth: int = 64
    max_json_elements: int = 2_000_000


DEFAULT_LIMITS = IngestLimits()


def check_rows(rows: int, limits: IngestLimits) -> None:
    """413 when a request carries more records than allowed."""
    if rows > limits.max_rows:
        raise BodyTooLargeError(
            f"{rows} records in one request; the limit is {limits.max_rows} "
            "(collector.max_rows_per_request)"
        )


def check_names(names: Iterable[object], limits: IngestLimits) -> None:
    """422 for a field name over ``max_name_bytes``."""
    for name in names:
        text = str(name)
        if len(text) > limits.max_name_bytes or len(text.encode("utf-8", "replace")) > (
            limits.max_name_bytes
        ):
            raise RecordError(
                f"field name {short(text)} is longer than {limits.max_name_bytes} bytes "
                "(collector.max_field_name_bytes)"
            )


def check_table(table: pa.Table, limits: IngestLimits) -> pa.Table:
    """The table, once nothing in it can fail the writer; else a 4xx naming field and row."""
    check_rows(table.num_rows, limits)
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_string(column.type):
            _check_strings(name, column, limits)
        elif pa.types.is_floating(column.type):
            _check_finite(name, column)
    return table


def check_arrow(table: pa.Table, limits: IngestLimits) -> None:
    """Names unique and short, buffers sound, strings UTF-8: checked before any cast or decode."""
    names = table.column_names
    check_names(names, limits)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise RecordError("appears more than once in the Arrow schema", field=name)
        seen.add(name)
    for name, column in zip(names, table.columns, strict=True):
        offset = 0
        for chunk in column.chunks:
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid as exc:
                row = _bad_utf8(chunk)
                if row is None:
                    raise FormatError(f"Arrow column {short(name)} is not valid: {exc}") from None
                raise RecordError("is not valid UTF-8", field=name, row=offset + row) from None
            offset += len(chunk)
        if pa.types.is_dictionary(column.type):
            _check_dictionary(name, column, limits)


def _check_dictionary(name: str, column: pa.ChunkedArray, limits: IngestLimits) -> None:
    """Decoding repeats each value per row: bound that expansion before it happens."""
    expanded = 0
    for chunk in column.chunks:
        dictionary = chunk.dictionary
        if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
            continue
        lengths = pc.binary_length(dictionary).take(chunk.indices)
        expanded += int(pc.sum(lengths).as_py() or 0)
        if expanded > limits.max_decoded_bytes:
            raise BodyTooLargeError(
                f"dictionary-encoded column {short(name)} decodes to more than "
                f"{limits.max_decoded_bytes} bytes (collector.max_decoded_bytes)"
            )


def _check_strings(name: str, column: pa.ChunkedArray, limits: IngestLimits) -> None:
    lengths = pc.binary_length(column)
    longest = pc.max(lengths).as_py()
    if longest is not None and longest > limits.max_string_bytes:
        row = int(pc.indices_nonzero(pc.greater(lengths, limits.max_string_bytes))[0].as_py())
        raise RecordError(
            f"string of {longest} bytes is over the limit of {limits.max_string_bytes} "
            "(collector.max_string_bytes)",
            field=name,
            row=row,
        )


def _bad_utf8(chunk: pa.Array) -> int | None:
    """Row of the first value that is not UTF-8, or None when that is not the problem."""
    if pa.types.is_dictionary(chunk.type):
        bad = _bad_utf8(chunk.dictionary)
        if bad is None:
            return None
        rows = pc.indices_nonzero(pc.equal(chunk.indices, bad))
        return int(rows[0].as_py()) if len(rows) else 0
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return None
    binary = pa.large_binary() if pa.types.is_large_string(chunk.type) else pa.binary()
    try:
        raw = chunk.view(binary)
        raw.validate(full=True)  # offsets sound: only the text can be wrong
    except pa.ArrowException:
        return None
    values = raw.to_pylist()
    for row, value in enumerate(values):
        if value is not None:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return row
    return None


def _check_finite(name: str, column: pa.ChunkedArray) -> None:
    infinite = pc.is_inf(column)
    if pc.any(infinite).as_py():
        row = int(pc.indices_nonzero(infinite)[0].as_py())
        raise RecordError(
            "is not a finite number; send null (or NaN) for a missing value", field=name, row=row
        )
