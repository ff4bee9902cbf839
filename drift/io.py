"""Read a table of records (CSV or Parquet) for the drift CLI, with errors a person can act on.

CSV is read by pyarrow's columnar reader (multi-threaded, typed per column). Live data
is read with the *baseline's* types (``kinds``), not whatever the file suggests: a
categorical or boolean feature is read as text, so codes ``"1"``, ``"2"`` stay codes
when a cell is empty (a type guess would make them floats, ``"2.0"``); a numeric
feature that the file holds as text stays text here, and the evaluation parses it and
reports what does not parse. Parquet keeps its stored types; numbers in a feature the
baseline calls categorical are turned into the same text a CSV would hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from inferwatch.errors import InferwatchError

CSV_SUFFIXES = frozenset({".csv", ".txt"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
TEXT_KINDS = frozenset({"categorical"})
"""Kinds read as text; booleans keep pyarrow's reading (``true``/``True``/``1``)."""


class DataFileError(InferwatchError):
    """A data file is missing, of an unknown format, unreadable or empty."""


def read_policy_mapping(path: Path) -> dict[str, object]:
    """A policy file's YAML mapping; ``DataFileError`` naming the file otherwise."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataFileError(f"{path}: cannot read policy: {exc}") from exc
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: a policy must be a mapping")
    return data


def read_table(path: str | Path, kinds: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read ``path`` by its suffix (``.csv``/``.txt`` or ``.parquet``/``.pq``).

    ``kinds`` (feature name to ``numeric``/``categorical``/``boolean``, from a baseline)
    fixes how those columns are read; other columns are typed from the file.

    Raises:
        DataFileError: the file is absent, not a known format, cannot be parsed, or has no
            rows or no columns.
    """
    file = Path(path)
    if not file.is_file():
        raise DataFileError(f"{file}: no such file")
    suffix = file.suffix.lower()
    if suffix not in CSV_SUFFIXES | PARQUET_SUFFIXES:
        known = ", ".join(sorted(CSV_SUFFIXES | PARQUET_SUFFIXES))
        raise DataFileError(f"{file}: unknown format {suffix or '(no suffix)'!r} (known: {known})")
    if file.stat().st_size == 0:
        raise DataFileError(f"{file}: empty file")
    import pyarrow as pa

    try:
        if suffix in CSV_SUFFIXES:
            frame = _read_csv(file, kinds or {})
        else:
            frame = _text_columns(pd.read_parquet(file), kinds or {})
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(f"{file}: cannot read as {suffix[1:]}: {first_line}") from exc
    if frame.columns.empty:
        raise DataFileError(f"{file}: no columns")
    if frame.empty:
        raise DataFileError(f"{file}: no rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _read_csv(file: Path, kinds: Mapping[str, str]) -> pd.DataFrame:
    """pyarrow's CSV reader; the baseline's text features as strings, empty cells as null."""
    import pyarrow as pa
    from pyarrow import csv

    text = {name: pa.string() for name, kind in kinds.items() if kind in TEXT_KINDS}
    convert = csv.ConvertOptions(column_types=text, strings_can_be_null=True)
    table = csv.read_csv(file, convert_options=convert)
    # Text as pandas categoricals: counting them hashes each distinct value once.
    return table.to_pandas(strings_to_categorical=True)


def _text_columns(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """Numbers in features the baseline calls text, written as a CSV would hold them.

    A float column of whole numbers (integers that gained a NaN) is written without the
    ``.0``, so code ``2`` stays ``"2"``.
    """
    for name, kind in kinds.items():
        if kind not in TEXT_KINDS or name not in frame.columns:
            continue
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        values = column.to_numpy(dtype=float, na_value=np.nan)
        present = ~np.isnan(values)
        whole = bool(np.all(values[present] == np.round(values[present])))
        text = np.full(values.size, None, dtype=object)
        text[present] = [str(int(v)) if whole else repr(float(v)) for v in values[present]]
        frame[name] = text
    return frame
