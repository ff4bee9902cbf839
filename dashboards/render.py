"""Draw each dashboard's panels from a live Prometheus with matplotlib.

No Grafana server runs here, so the README's pictures are made the honest way:
every panel's own queries (from the generated JSON) are run as range queries
against a real Prometheus and plotted in the dashboard's layout order.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inferwatch.dashboards.queries import DEFAULT_VALUES, PanelQuery, concrete, panel_queries
from inferwatch.promql import PromQLClient, PromQLError, Series

log = logging.getLogger("inferwatch.dashboards")

_LEGEND_LIMIT = 6


def _range(client: PromQLClient, expr: str, start: float, end: float, step: float) -> list[Series]:
    try:
        return client.range(expr, start, end, step)
    except PromQLError as exc:  # one broken panel query leaves its panel empty, and says so
        log.warning("panel query not drawn: %s", exc)
        return []


def _legend(template: str, labels: Mapping[str, str]) -> str:
    text = template
    for key, value in labels.items():
        text = text.replace("{{" + key + "}}", value)
    while "{{" in text and "}}" in text:  # labels the series does not carry
        start = text.index("{{")
        text = text[:start] + text[text.index("}}", start) + 2 :]
    return text.strip() or ",".join(f"{k}={v}" for k, v in labels.items()) or "value"


def render_dashboard(
    model: Mapping[str, Any],
    prometheus_url: str,
    out: Path,
    *,
    minutes: float = 10,
    values: Mapping[str, str] = DEFAULT_VALUES,
) -> Path:
    """Plot ``model``'s panels over the last ``minutes`` into the PNG ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    client = PromQLClient(prometheus_url, timeout=30.0)
    by_panel: dict[str, list[PanelQuery]] = {}
    for query in panel_queries(model):
        by_panel.setdefault(query.panel, []).append(query)
    end = time.time()
    start = end - minutes * 60
    step = max(1.0, minutes * 60 / 200)
    columns = 3
    rows = math.ceil(len(by_panel) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(15, 2.8 * rows), squeeze=False)
    for axis, (title, queries) in zip(axes.flat, by_panel.items(), strict=False):
        plotted = 0
        for query in queries:
            for series in _range(client, concrete(query.expr, values), start, end, step):
                xs = [(t - end) / 60 for t, _ in series.points]
                ys = [v for _, v in series.points]
                label = _legend(query.legend, series.labels) if plotted < _LEGEND_LIMIT else None
                axis.plot(xs, ys, linewidth=1.2, label=label)
                plotted += 1
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("minutes", fontsize=8)
        axis.tick_params(labelsize=7)
        if queries and queries[0].log_scale and plotted:
            axis.set_yscale("log")
        if queries and queries[0].unit:
            axis.set_ylabel(queries[0].unit, fontsize=8)
        if plotted:
            axis.legend(fontsize=6, loc="upper left")
        else:
            axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes)
    client.close()
    for axis in list(axes.flat)[len(by_panel) :]:
        axis.set_visible(False)
    figure.suptitle(str(model.get("title")), fontsize=13)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80)
    plt.close(figure)
    return out
