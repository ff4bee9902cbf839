"""Baseline defaults every part uses when nobody says otherwise (standard library only, so
settings and CLI options can name them without loading numpy)."""

from __future__ import annotations

from typing import Final

DEFAULT_BINS: Final = 10
"""Quantile bins per numeric feature."""
DEFAULT_TOP_K: Final = 20
"""Vocabulary size per categorical feature (the rest share ``__other__``)."""
DEFAULT_SAMPLE_SIZE: Final = 5000
"""Rows of reference sample a baseline keeps, and records a collector window samples."""
