"""`inferwatch drift check REFERENCE LIVE`: the drift engine on two files."""

from __future__ import annotations

import typer


def check(reference: str, live: str) -> None:
    """Compare LIVE with REFERENCE (CSV or Parquet)."""
    raise typer.Exit(2)
