"""Check records against a model's baseline schema and bring them to one columnar form.

Every format ends here as a ``pyarrow.Table`` with the baseline's columns in
baseline order: numeric features as ``float64``, categorical and boolean ones as
``string`` (booleans as ``"true"``/``"false"``, as the baseline's vocabulary
names them). Missing fields, ``null`` and ``NaN`` are missing values, which is
allowed (they are counted, never dropped). A wrong type answers 422 naming the
field and the first offending row; fields the baseline does not know answer 422
unless ``allow_unknown_fields``. The fast paths are whole-column conversions in
pyarrow; only a failing column is scanned row by row, to name the row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inferwatch.collector.errors import RecordError, short
from inferwatch.contracts.categories import category_key
from inferwatch.contracts.spec import BaselineSpec, FeatureSpec


def schema_of(baseline: BaselineSpec) -> pa.Schema:
    """The Arrow schema accepted records are brought to."""
    return pa.schema(
        [
            pa.field(s.name, pa.float64() if s.kind == "numeric" else pa.string())
            for s in baseline.features
        ]
    )


def check_unknown(names: Sequence[str], baseline: BaselineSpec, allow_unknown: bool) -> None:
    """422 for a field the baseline does not know (unless allowed)."""
    if allow_unknown:
        return
    known = set(baseline.feature_names)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RecordError(
            f"unknown field(s) {_listing(unknown)}; the baseline of model "
            f"{baseline.model!r} has {', '.join(baseline.feature_names)}",
            field=unknown[0],
        )


def from_rows(rows: Sequence[Any], baseline: BaselineSpec, *, allow_unknown: bool) -> pa.Table:
    """JSON rows (a list of objects) to the columnar form."""
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RecordError(f"expected an object, got {type(row).__name__}", row=i)
    if not allow_unknown:
        seen: set[str] = set().union(*rows) if rows else set()
        known = set(baseline.feature_names)
        if seen - known:
            first = next(i for i, r in enumerate(rows) if set(r) - known)
            bad = sorted(set(rows[first]) - known)
            raise RecordError(
                f"unknown field(s) {_listing(bad)}; the baseline of model "
                f"{baseline.model!r} has {', '.join(baseline.feature_names)}",
                field=bad[0],
                row=first,
            )
    columns = {s.name: [r.get(s.name) for r in rows] for s in baseline.features}
    return from_columns(columns, baseline, allow_unknown=True, rows=len(rows))


def from_columns(
    columns: Mapping[str, Any],
    baseline: BaselineSpec,
    *,
    allow_unknown: bool,
    rows: int | None = None,
) -> pa.Table:
    """Columnar JSON (``{feature: [values...]}``) to the columnar form."""
    check_unknown(list(columns), baseline, allow_unknown)
    length = rows
    for name, values in columns.items():
        if not isinstance(values, list):
            raise RecordError(f"expected a list of values, got {type(values).__name__}", field=name)
        if length is None:
            length = len(values)
        elif len(values) != length:
            raise RecordError(
                f"has {len(values)} values where other fields have {length}", field=name
            )
    n = length or 0
    arrays = [_column(spec, columns.get(spec.name), n) for spec in baseline.features]
    return pa.Table.from_arrays(arrays, schema=schema_of(baseline))


def from_table(table: pa.Table, baseline: BaselineSpec, *, allow_unknown: bool) -> pa.Table:
    """An Arrow table (from IPC) to the columnar form, casting where lossless."""
    check_unknown(table.column_names, baseline, allow_unknown)
    arrays = []
    for spec in baseline.features:
        if spec.name in table.column_names:
            arrays.append(_arrow_column(spec, table.column(spec.name)))
        else:
            target = pa.float64() if spec.kind == "numeric" else pa.string()
            arrays.append(pa.chunked_array([pa.nulls(table.num_rows, target)]))
    return pa.Table.from_arrays(arrays, schema=schema_of(baseline))


def _column(spec: FeatureSpec, values: list[Any] | None, n: int) -> pa.Array:
    if spec.kind == "numeric":
        if values is None:
            return pa.nulls(n, pa.float64())
        try:
            return pa.array(values, type=pa.float64())
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            _raise_first_bad_number(spec.name, values)
            raise  # pragma: no cover - the scan always finds the culprit
    if values is None:
        return pa.nulls(n, pa.string())
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return pa.array([_category(spec.name, i, v) for i, v in enumerate(values)], pa.string())


def _raise_first_bad_number(name: str, values: list[Any]) -> None:
    for i, value in enumerate(values):
        if value is None or isinstance(value, bool | float):
            continue
        if isinstance(value, int):
            try:
                float(value)
            except OverflowError:
                raise RecordError("is not a finite number", field=name, row=i) from None
            continue
        raise RecordError(f"expected a number or null, got {_describe(value)}", field=name, row=i)
    raise RecordError("values cannot be read as numbers", field=name)


def _category(name: str, row: int, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        raise RecordError(
            "is not a finite number; send null (or NaN) for a missing value", field=name, row=row
        )
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise RecordError(
                f"is not valid Unicode (lone surrogate {value[exc.start : exc.end]!r})",
                field=name,
                row=row,
            ) from None
    if isinstance(value, str | bool | int | float):
        return category_key(value)
    raise RecordError(
        f"expected a string, number, boolean or null, got {_describe(value)}", field=name, row=row
    )


def _arrow_column(spec: FeatureSpec, column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pa.chunked_array(
            [c.dictionary_decode() for c in column.chunks], type=kind.value_type
        )
        kind = column.type
    if spec.kind == "numeric":
        if (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_decimal(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_null(kind)
        ):
            return pc.cast(column, pa.float64())
        raise RecordError(
            f"expected a numeric column, got Arrow type {kind}", field=spec.name, row=_first(column)
        )
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_floating(kind) and pc.any(pc.is_inf(column)).as_py():
        row = int(pc.indices_nonzero(pc.is_inf(column.combine_chunks()))[0].as_py())
        raise RecordError("is not a finite number", field=spec.name, row=row)
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return pc.cast(column, pa.string())
    raise RecordError(
        f"expected a string, boolean or number column, got Arrow type {kind}",
        field=spec.name,
        row=_first(column),
    )


def _first(column: pa.ChunkedArray) -> int | None:
    """The first non-null row of a column of the wrong type, to name it."""
    valid = pc.indices_nonzero(pc.is_valid(column.combine_chunks()))
    return int(valid[0].as_py()) if len(valid) else None


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}"


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(short(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")
