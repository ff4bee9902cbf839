"""Small builders shared by every dashboard: panels bound to ``$datasource``, variables, links.

Every query goes through these helpers so that the conventions hold everywhere:
the Prometheus datasource is the ``$datasource`` variable, selectors carry the
``namespace`` (and, where it applies, ``model``) variables, and rate windows use
``$__rate_interval``.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import common, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as gmodel

DATASOURCE = gmodel.DataSourceRef(type_val="prometheus", uid="${datasource}")
TAG = "inferwatch"

Query = tuple[str, str]
"""A PromQL expression and its legend format."""


def _targets(queries: Sequence[Query]) -> list[prometheus.Dataquery]:
    letters = "ABCDEFGHIJ"
    return [
        prometheus.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(letters[i])
        .datasource(DATASOURCE)
        for i, (expr, legend) in enumerate(queries)
    ]


def graph(
    title: str,
    queries: Sequence[Query],
    *,
    unit: str = "short",
    description: str = "",
    width: int = 12,
    height: int = 8,
    minimum: float | None = 0,
    maximum: float | None = None,
    log_scale: bool = False,
) -> timeseries.Panel:
    """A time series panel (``log_scale`` for values spanning decades, like p-values)."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .fill_opacity(10)
    )
    if minimum is not None:
        panel = panel.min(minimum)
    if maximum is not None:
        panel = panel.max(maximum)
    if log_scale:
        panel = panel.scale_distribution(
            common.ScaleDistributionConfig().type(common_model.ScaleDistribution.LOG).log(10)
        )
    for target in _targets(queries):
        panel = panel.with_target(target)
    return panel


def single(
    title: str,
    query: Query,
    *,
    unit: str = "short",
    description: str = "",
    width: int = 6,
    height: int = 4,
) -> stat.Panel:
    """A single-value stat panel."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
    )
    for target in _targets([query]):
        panel = panel.with_target(target)
    return panel


def datasource_variable() -> gdash.DatasourceVariable:
    """``$datasource``: which Prometheus (or Thanos, Mimir) the dashboard reads."""
    return gdash.DatasourceVariable("datasource").label("Data source").type("prometheus")


def label_variable(name: str, metric: str, label: str | None = None) -> gdash.QueryVariable:
    """A multi-value variable listing the values of ``label`` on ``metric`` (All = any)."""
    return (
        gdash.QueryVariable(name)
        .label(name.replace("_", " ").capitalize())
        .datasource(DATASOURCE)
        .query(f"label_values({metric}, {label or name})")
        .refresh(gmodel.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def related_link() -> gdash.DashboardLink:
    """A drop-down of the other inferwatch dashboards, keeping time range and variables."""
    return (
        gdash.DashboardLink("inferwatch")
        .type(gmodel.DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .keep_time(True)
        .include_vars(True)
    )


def base(uid: str, title: str, description: str, model_metric: str | None) -> gdash.Dashboard:
    """A dashboard with inferwatch's variables, tags, time range and links."""
    board = (
        gdash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .tooltip(gmodel.DashboardCursorSync.CROSSHAIR)
        .with_variable(datasource_variable())
        .with_variable(label_variable("namespace", "inferwatch_build_info"))
        .link(related_link())
    )
    if model_metric is not None:
        board = board.with_variable(label_variable("model", model_metric))
    return board
