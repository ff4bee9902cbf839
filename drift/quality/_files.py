"""Columns of a data file for ``inferwatch quality check``: labels, scores, features.

Files are read like ``drift check`` reads them (``drift.io.read_table``: CSV or Parquet),
plus JSON (an array of records, or one record per line for ``.jsonl``/``.ndjson``).
Labels are named as the contract names them (``categories.category_key``), with one
fix for files: a label column that gained a missing value is read as floats, so a whole
float (``1.0``) is named as the integer it was (``"1"``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from inferwatch.contracts.categories import category_key, is_missing
from inferwatch.drift.io import DataFileError, read_table

JSON_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson"})


def read_rows(path: Path) -> pd.DataFrame:
    """A table from CSV, Parquet or JSON, with ``DataFileError`` naming what is wrong."""
    if path.suffix.lower() not in JSON_SUFFIXES:
        return read_table(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    lines = path.suffix.lower() != ".json"
    try:
        frame = pd.read_json(path, lines=lines, orient="records")
    except ValueError as exc:
        raise DataFileError(f"{path}: cannot read as JSON records: {exc}") from exc
    if frame.empty or frame.columns.empty:
        raise DataFileError(f"{path}: no rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def labels(column: pd.Series) -> np.ndarray:
    """Label names per row (``None`` where missing), whole floats named as integers."""
    values = column.to_numpy(dtype=object)
    out = np.empty(values.size, dtype=object)
    for i, value in enumerate(values):
        if is_missing(value):
            out[i] = None
        elif isinstance(value, float | np.floating) and float(value).is_integer():
            out[i] = str(int(value))
        else:
            out[i] = category_key(value)
    return out


def numbers(column: pd.Series, name: str) -> np.ndarray:
    """A numeric column as floats (NaN where missing); text that is no number is an error."""
    converted: np.ndarray = np.asarray(pd.to_numeric(column, errors="coerce"), dtype=np.float64)
    bad = np.isnan(converted) & ~column.isna().to_numpy()
    if bad.any():
        first = column[bad].iloc[0]
        raise DataFileError(f"column {name!r}: {first!r:.40} is not a number")
    return converted


def require(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    """Every column named by an option is in the file."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataFileError(f"{path}: no column {', '.join(map(repr, missing))}")
