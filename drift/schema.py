"""The drift part's tables in the state store (``Migration`` list of part ``drift``).

``drift_baselines`` holds every version of every model's baseline; rows are
only ever inserted (the primary key ``(model, version)`` refuses a second row
for a version, and no code path updates one). The reference sample rides along
as Parquet bytes. ``drift_results`` is the evaluation history, one row per
model and window, the full ``DriftEvaluation`` as JSON plus the columns we
filter on.
"""

from __future__ import annotations

from inferwatch.storage import Migration

PART = "drift"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        part=PART,
        version=1,
        sql="""
        CREATE TABLE drift_baselines (
            model TEXT NOT NULL,
            version INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            spec TEXT NOT NULL,
            sample BLOB,
            sample_rows INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (model, version)
        );
        CREATE TABLE drift_results (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            model TEXT NOT NULL,
            baseline_version INTEGER NOT NULL,
            path TEXT NOT NULL,
            verdict TEXT NOT NULL,
            drift_detected INTEGER NOT NULL,
            rows INTEGER NOT NULL,
            window_start TEXT,
            window_end TEXT,
            evaluated_at TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX drift_results_by_model ON drift_results (model, id)
        """,
    ),
)
