"""`inferwatch drift baseline ...`: create, list and show baselines in the state store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from inferwatch.cli_support import ConfigOption, JsonFlag, emit, fail, settings_from
from inferwatch.errors import InferwatchError

app = typer.Typer(help="Create, list and show baselines.", no_args_is_help=True)


@app.callback()
def baseline() -> None:
    """Create, list and show baselines."""


@contextmanager
def _store(ctx: typer.Context, config: Path | None) -> Iterator[Any]:
    """The configured state store, migrated, as a ``BaselineStore``; errors exit 2."""
    from inferwatch.drift.store import BaselineStore
    from inferwatch.storage import open_storage

    settings = settings_from(ctx, config)
    try:
        storage = open_storage(settings.storage_url())
    except InferwatchError as exc:
        fail(str(exc))
    try:
        storage.migrate()
        yield BaselineStore(storage), settings
    except InferwatchError as exc:
        fail(str(exc))
    finally:
        storage.close()


def _summary(baseline: Any) -> dict[str, Any]:
    return {
        "model": baseline.model,
        "version": baseline.version,
        "created_at": baseline.created_at.isoformat(),
        "sample_rows": len(baseline.sample),
        "features": [
            {
                "name": s.name,
                "kind": s.kind,
                "bins": len(s.bin_labels),
                "missing_rate": s.missing_rate,
            }
            for s in baseline.features
        ],
    }


def _human(data: dict[str, Any]) -> str:
    lines = [f"{data['model']} v{data['version']} ({data['sample_rows']} sample rows)"]
    lines += [
        f"  {f['name']}: {f['kind']}, {f['bins']} bins, missing {f['missing_rate']:.1%}"
        for f in data["features"]
    ]
    return "\n".join(lines)


@app.command("create")
def create(
    ctx: typer.Context,
    reference: Annotated[Path, typer.Argument(help="Reference data: CSV or Parquet.")],
    *,
    model: Annotated[str, typer.Option("--model", "-m", help="Model name.")],
    bins: Annotated[int | None, typer.Option(help="Quantile bins per numeric feature.")] = None,
    top_k: Annotated[
        int | None, typer.Option("--top-k", help="Vocabulary size per categorical feature.")
    ] = None,
    sample_size: Annotated[
        int | None, typer.Option("--sample-size", help="Reference rows kept for reports.")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Infer a baseline from REFERENCE and store it as the model's next version."""
    from inferwatch.drift.io import read_table

    with _store(ctx, config) as (store, settings):
        drift = settings.drift
        frame = read_table(reference)
        created = store.create(
            model,
            frame,
            bins=bins if bins is not None else drift.baseline_bins,
            top_k=top_k if top_k is not None else drift.baseline_top_k,
            sample_size=sample_size if sample_size is not None else drift.baseline_sample_size,
        )
        emit(_summary(created), as_json, human=_human)


@app.command("list")
def list_baselines(
    ctx: typer.Context, config: ConfigOption = None, as_json: JsonFlag = False
) -> None:
    """The latest baseline version of every model."""
    with _store(ctx, config) as (store, _):
        data = [info.to_dict() for info in store.models()]
        emit(
            data,
            as_json,
            human=lambda rows: (
                "\n".join(
                    f"{r['model']} v{r['version']} ({len(r['features'])} features, "
                    f"created {r['created_at']})"
                    for r in rows
                )
                or "no baselines"
            ),
        )


@app.command("show")
def show(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int | None, typer.Option(help="Version (default: latest).")] = None,
    config: ConfigOption = None,
    as_json: JsonFlag = False,
) -> None:
    """One baseline: features, kinds, bins, missing rates.

    With ``--json`` it prints the same document as ``GET /drift/baselines/MODEL``, which
    the collector (``collector.baseline_dir``) and the recorder accept as a baseline file.
    """
    from inferwatch.drift.api import baseline_document

    with _store(ctx, config) as (store, _):
        found = store.require(model, version)
        if as_json:
            emit(baseline_document(found), as_json=True)
        else:
            emit(_summary(found), as_json=False, human=_human)


def evaluate(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model whose stored baseline to compare with.")],
    *,
    live: Annotated[Path, typer.Option("--live", help="Live data: CSV or Parquet.")],
    version: Annotated[int | None, typer.Option(help="Baseline version (default: latest).")] = None,
    record: Annotated[
        bool, typer.Option("--record", help="Store the result in the model's history.")
    ] = False,
    config: ConfigOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Evaluate a LIVE file against MODEL's stored baseline; exit 0 no drift, 1 drift, 2 error."""
    from inferwatch.drift.evaluate import evaluate_sample
    from inferwatch.drift.io import read_table
    from inferwatch.drift.report import finite
    from inferwatch.drift.store import ResultStore

    with _store(ctx, config) as (store, settings):
        baseline = store.require(model, version)
        result = evaluate_sample(baseline, read_table(live), settings.drift.policy)
        if record:
            ResultStore(store.storage, history_limit=settings.drift.history_limit).append(result)
        emit(
            finite(result.to_dict()),
            as_json,
            human=lambda d: (
                f"{d['model']} v{d['baseline_version']}: {d['verdict']} ({d['rows']} rows); "
                f"drifted: {', '.join(d['drifted_features']) or 'none'}"
            ),
        )
    if result.drift_detected:
        raise typer.Exit(1)
