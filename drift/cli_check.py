"""`inferwatch drift check REFERENCE LIVE`: the drift engine on two files.

Infers a baseline from REFERENCE, reads LIVE with the baseline's column types, evaluates
it on the sample path with the same code as the engine, and prints one JSON object
(``--json``) or a short table. Exit codes: 0 no drift, 1 drift (a schema change
included, by default), 2 an error (unreadable file, bad policy, no column in common),
3 not enough data (no feature could be evaluated).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inferwatch.cli_support import EXIT_FINDING, EXIT_OK, JsonFlag, emit, fail
from inferwatch.contracts.defaults import DEFAULT_BINS, DEFAULT_TOP_K

if TYPE_CHECKING:  # imported by the verb, so that `drift check --help` stays light
    from inferwatch.contracts.results import DriftEvaluation, FeatureResult
    from inferwatch.drift.policy import DriftPolicy

EXIT_NOT_ENOUGH_DATA = 3
"""No feature could be evaluated (too few live or reference rows): not a 0, not a 1."""


def load_policy(path: Path) -> DriftPolicy:
    """A policy from YAML: the policy itself, ``policy:`` or a settings file's ``drift.policy``."""
    from pydantic import ValidationError

    from inferwatch.drift.io import DataFileError, read_policy_mapping
    from inferwatch.drift.policy import DriftPolicy

    data: dict[str, Any] = read_policy_mapping(path)
    if isinstance(data.get("drift"), dict):
        data = data["drift"].get("policy", {})
    elif isinstance(data.get("policy"), dict):
        data = data["policy"]
    try:
        return DriftPolicy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        raise DataFileError(f"{path}: {where}: {first['msg']}") from exc


def _result(result: FeatureResult) -> dict[str, Any]:
    return {
        "method": result.method,
        "statistic": result.statistic,
        "p_value": result.p_value,
        "threshold": result.threshold,
        "drifted": result.drifted,
        "verdict": result.verdict,
        "raw_p_value": result.raw_p_value,
        "effect_method": result.effect_method,
        "effect": result.effect,
        "effect_threshold": result.effect_threshold,
        "rows": result.rows,
        "missing": result.missing,
        "detail": result.detail,
    }


def report(evaluation: DriftEvaluation, kinds: Mapping[str, str]) -> dict[str, Any]:
    """The check's JSON object: per feature its primary method's result, plus missing_rate.

    A feature's ``drifted`` is true when either its distribution or its missing rate
    drifted; ``verdict`` is ``not_enough_data`` when the primary method could not run.
    """
    from inferwatch.drift.evaluate import SCHEMA
    from inferwatch.drift.stats import MISSING_RATE

    features: dict[str, dict[str, Any]] = {}
    schema: dict[str, FeatureResult] = {}
    for result in evaluation.features:
        if result.method == SCHEMA:  # placed now, so features keep the baseline's order
            schema[result.feature] = result
            features.setdefault(
                result.feature, {"kind": kinds.get(result.feature), **_result(result)}
            )
        elif result.method == MISSING_RATE:
            entry = features[result.feature]
            entry["missing_rate"] = _result(result)
            entry["drifted"] = entry["drifted"] or result.drifted
            if result.drifted:
                entry["verdict"] = "drift"
        else:
            features[result.feature] = {"kind": kinds[result.feature], **_result(result)}
    for name, finding in schema.items():
        entry = features[name]
        entry["schema_change"] = finding.detail
        entry["verdict"] = "schema_change"
        entry["drifted"] = entry["drifted"] or finding.drifted
    return {
        "model": evaluation.model,
        "baseline_version": evaluation.baseline_version,
        "path": evaluation.path,
        "rows": evaluation.rows,
        "drift_detected": evaluation.drift_detected,
        "verdict": evaluation.verdict,
        "drifted_features": list(evaluation.drifted_features),
        "schema_changes": sorted(schema),
        "evaluated_at": evaluation.evaluated_at.isoformat(),
        "features": features,
    }


def _human(data: dict[str, Any]) -> str:
    lines = [f"model {data['model']}: {data['verdict']} ({data['rows']} live rows)"]
    for name, entry in data["features"].items():
        statistic = "-" if entry["statistic"] is None else f"{entry['statistic']:.4g}"
        p_value = "-" if entry["p_value"] is None else f"{entry['p_value']:.3g}"
        lines.append(
            f"  {name:<24} {entry['verdict']:<16} {entry['method']:<15} "
            f"statistic={statistic:<10} p={p_value}"
        )
        lines.extend(f"      {why}" for why in _reasons(entry))
    return "\n".join(lines)


def _reasons(entry: Mapping[str, Any]) -> list[str]:
    """Why a feature is not a plain ``no_drift``, in words, for the table."""
    if "schema_change" in entry:
        return [entry["schema_change"]]
    if entry["verdict"] == "not_enough_data":
        return [f"not evaluated: {entry['detail']}"]
    missing = entry.get("missing_rate", {})
    if missing.get("drifted"):
        return [f"missing values: {missing.get('detail', '')}"]
    return []


def check(
    reference: Annotated[Path, typer.Argument(help="Reference data (CSV or Parquet).")],
    live: Annotated[Path, typer.Argument(help="Live data to compare (CSV or Parquet).")],
    *,
    as_json: JsonFlag = False,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Drift policy YAML.", show_default=False)
    ] = None,
    model: Annotated[str, typer.Option("--model", help="Model name in the output.")] = "check",
    bins: Annotated[int, typer.Option("--bins", help="Bins per numeric feature.")] = DEFAULT_BINS,
    top_k: Annotated[
        int, typer.Option("--top-k", help="Vocabulary size per category.")
    ] = DEFAULT_TOP_K,
) -> None:
    """Compare LIVE with REFERENCE (CSV or Parquet).

    Exit 0 no drift, 1 drift or a schema change, 2 error, 3 not enough data.
    """
    from inferwatch.drift.baseline import BaselineError, infer_baseline
    from inferwatch.drift.evaluate import evaluate_sample
    from inferwatch.drift.io import DataFileError, read_table
    from inferwatch.drift.policy import DriftPolicy

    try:
        drift_policy = load_policy(policy) if policy is not None else DriftPolicy()
        reference_frame = read_table(reference)
        baseline = infer_baseline(
            model,
            reference_frame,
            bins=bins,
            top_k=top_k,
            discrete_max_values=drift_policy.discrete_max_values,
        )
        kinds = {spec.name: spec.kind for spec in baseline.features}
        live_frame = read_table(live, kinds)
        if not set(live_frame.columns) & set(kinds):
            fail(f"{live} and {reference} have no column in common")
        evaluation = evaluate_sample(baseline, live_frame, drift_policy)
    except (DataFileError, BaselineError) as exc:
        fail(str(exc))
    data = report(evaluation, kinds)
    data["reference_rows"] = len(reference_frame)
    emit(data, as_json, _human)
    if evaluation.verdict == "not_enough_data":
        raise typer.Exit(EXIT_NOT_ENOUGH_DATA)
    raise typer.Exit(EXIT_FINDING if evaluation.drift_detected else EXIT_OK)
