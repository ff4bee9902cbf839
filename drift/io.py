"""Read a table of records (CSV or Parquet) for the drift CLI, with errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from inferwatch.errors import InferwatchError

CSV_SUFFIXES = frozenset({".csv", ".txt"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})


class DataFileError(InferwatchError):
    """A data file is missing, of an unknown format, unreadable or empty."""


def read_table(path: str | Path) -> pd.DataFrame:
    """Read ``path`` by its suffix (``.csv``/``.txt`` or ``.parquet``/``.pq``).

    Raises:
        DataFileError: the file is absent, not a known format, cannot be parsed, or has no
            rows or no columns.
    """
    file = Path(path)
    if not file.is_file():
        raise DataFileError(f"{file}: no such file")
    suffix = file.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            frame = pd.read_csv(file)
        elif suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(file)
        else:
            known = ", ".join(sorted(CSV_SUFFIXES | PARQUET_SUFFIXES))
            raise DataFileError(
                f"{file}: unknown format {suffix or '(no suffix)'!r} (known: {known})"
            )
    except DataFileError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise DataFileError(f"{file}: empty file") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(f"{file}: cannot read as {suffix[1:]}: {first_line}") from exc
    if frame.columns.empty:
        raise DataFileError(f"{file}: no columns")
    if frame.empty:
        raise DataFileError(f"{file}: no rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame
