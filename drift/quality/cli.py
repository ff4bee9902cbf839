"""`inferwatch quality check REFERENCE LIVE`: model quality and multivariate drift on two files.

Exit codes, as ``drift check``: 0 ok, 1 a finding (a metric degraded or multivariate
drift), 2 an error (unreadable file, missing column, bad option or policy), 3 not enough
data (no metric could be judged and no multivariate test ran).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inferwatch.cli_support import EXIT_FINDING, EXIT_OK, JsonFlag, emit, fail

if TYPE_CHECKING:  # the verb imports them, so that `quality --help` stays light
    from inferwatch.drift.multivariate import MultivariatePolicy
    from inferwatch.drift.quality import QualityPolicy

EXIT_NOT_ENOUGH_DATA = 3

app = typer.Typer(
    help="Model quality: realized and estimated performance, multivariate drift.",
    no_args_is_help=True,
)


def load_policies(path: Path) -> tuple[QualityPolicy, MultivariatePolicy]:
    """Policies from YAML: ``quality:`` and ``multivariate:`` sections, or a quality policy."""
    from pydantic import ValidationError

    from inferwatch.drift.io import DataFileError, read_policy_mapping
    from inferwatch.drift.multivariate import MultivariatePolicy
    from inferwatch.drift.quality import QualityPolicy

    data: dict[str, Any] = read_policy_mapping(path)
    sections = {"quality", "multivariate"}
    quality = data.get("quality", {}) if sections & set(data) else data
    try:
        return (
            QualityPolicy.model_validate(quality),
            MultivariatePolicy.model_validate(data.get("multivariate", {})),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        raise DataFileError(f"{path}: {where}: {first['msg']}") from exc


def _score_columns(scores: list[str], prefix: str | None, columns: list[str]) -> dict[str, str]:
    """``--score COL`` (one binary score), ``--score LABEL=COL`` or ``--score-prefix P``."""
    out: dict[str, str] = {}
    for item in scores:
        label, sep, column = item.partition("=")
        if not sep:
            label, column = "", item
        if not column or label in out:
            fail(f"--score {item!r}: give COLUMN once, or LABEL=COLUMN per class")
        out[label] = column
    if prefix:
        out.update({c[len(prefix) :]: c for c in columns if c.startswith(prefix) and c != prefix})
        if not out:
            fail(f"--score-prefix {prefix!r}: no column of the reference starts with it")
    if "" in out and len(out) > 1:
        fail("--score without a label is for a binary model's one score; use LABEL=COLUMN")
    return out


@app.command("check")
def check(
    reference: Annotated[Path, typer.Argument(help="Reference data (CSV, Parquet or JSON).")],
    live: Annotated[Path, typer.Argument(help="Live data to judge (CSV, Parquet or JSON).")],
    *,
    target: Annotated[str, typer.Option("--target", help="Column of the actual outcome.")],
    prediction: Annotated[
        str | None,
        typer.Option(
            "--prediction", help="Column of the predicted label or value.", show_default=False
        ),
    ] = None,
    score: Annotated[
        list[str] | None,
        typer.Option(
            "--score",
            help="Score column: COLUMN (a binary model's positive-class score) or "
            "LABEL=COLUMN per class (repeat).",
            show_default=False,
        ),
    ] = None,
    score_prefix: Annotated[
        str | None,
        typer.Option(
            "--score-prefix", help="Per-class score columns PREFIX<label>.", show_default=False
        ),
    ] = None,
    kind: Annotated[
        str, typer.Option("--kind", help="classification or regression.")
    ] = "classification",
    positive: Annotated[
        str | None,
        typer.Option("--positive", help="Positive class of a binary model.", show_default=False),
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Score threshold when there is no --prediction.")
    ] = 0.5,
    feature: Annotated[
        list[str] | None,
        typer.Option(
            "--feature",
            help="Feature for the multivariate tests (repeat; default: every other column).",
            show_default=False,
        ),
    ] = None,
    multivariate: Annotated[
        bool, typer.Option("--multivariate/--no-multivariate", help="Run the multivariate tests.")
    ] = True,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="Quality policy YAML (quality:, multivariate:).", show_default=False
        ),
    ] = None,
    model: Annotated[str, typer.Option("--model", help="Model name in the output.")] = "check",
    as_json: JsonFlag = False,
) -> None:
    """Judge LIVE's model quality against REFERENCE.

    Realized metrics when LIVE's target column is filled enough, CBPE estimates (binary
    classifiers with a score) when it is absent or mostly empty; plus the domain-classifier
    and PCA-reconstruction tests on the feature columns.
    Exit 0 ok, 1 degraded or multivariate drift, 2 error, 3 not enough data.
    """
    from inferwatch.drift.io import DataFileError
    from inferwatch.drift.multivariate import MultivariatePolicy
    from inferwatch.drift.quality import QualityPolicy
    from inferwatch.drift.quality._check import Columns
    from inferwatch.drift.quality._check import check as run_check
    from inferwatch.drift.quality._files import read_rows

    if kind not in ("classification", "regression"):
        fail(f"--kind {kind!r}: classification or regression")
    try:
        quality_policy, mv_policy = (
            load_policies(policy) if policy is not None else (QualityPolicy(), MultivariatePolicy())
        )
        reference_frame = read_rows(reference)
        live_frame = read_rows(live)
        columns = Columns(
            kind="classification" if kind == "classification" else "regression",
            target=target,
            prediction=prediction,
            scores=_score_columns(score or [], score_prefix, list(reference_frame.columns)),
            positive=positive,
            threshold=threshold,
            features=tuple(feature or ()),
        )
        data = run_check(
            reference_frame,
            live_frame,
            columns,
            paths=(reference, live),
            policy=quality_policy,
            multivariate=mv_policy if multivariate else None,
            model=model,
        )
    except DataFileError as exc:
        fail(str(exc))
    emit(data, as_json, _human)
    ran = any("verdict" in t for t in data["multivariate"].values())
    if data["degraded"] or data["drift_detected"]:
        raise typer.Exit(EXIT_FINDING)
    if data["verdict"] == "not_enough_data" and not ran:
        raise typer.Exit(EXIT_NOT_ENOUGH_DATA)
    raise typer.Exit(EXIT_OK)


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def _human(data: dict[str, Any]) -> str:
    lines = [
        f"model {data['model']}: {data['verdict']} ({data['rows']} live rows, "
        f"{data['labelled_share']:.0%} labelled, {data['evaluated']})"
    ]
    for name, entry in data["metrics"].items():
        lines.append(
            f"  {name:<12} {entry['verdict']:<16} {entry['kind']:<10} "
            f"value={_number(entry['value']):<8} band=[{_number(entry['lower'])}, "
            f"{_number(entry['upper'])}] reference={_number(entry['reference'])}"
        )
        if entry["detail"]:
            lines.append(f"      {entry['detail']}")
    for name, test in data["multivariate"].items():
        if "verdict" not in test:
            lines.append(f"  {name:<20} {test['detail']}")
            continue
        top = ", ".join(list(test["contributions"])[:3])
        lines.append(
            f"  {name:<20} {test['verdict']:<10} statistic={_number(test['statistic'])} "
            f"p={_number(test['p_value'])} top features: {top}"
        )
    return "\n".join(lines)
