"""Every panel's PromQL, and how to make it concrete outside Grafana.

Used by the live-data test (every panel must return a series from a real
Prometheus) and by the renderer that plots panels for the README.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_VALUES: Mapping[str, str] = {
    "namespace": ".*",
    "model": ".*",
    "service": ".*",
    "__rate_interval": "1m",
    "__range": "5m",
    "__interval": "15s",
}


@dataclass(frozen=True)
class PanelQuery:
    """One query of one panel."""

    dashboard: str
    panel: str
    ref_id: str
    expr: str
    legend: str
    unit: str
    log_scale: bool = False


def _panels(model: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for panel in model.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def panel_queries(model: Mapping[str, Any]) -> list[PanelQuery]:
    """All queries of a dashboard's panels, in layout order."""
    found = []
    for panel in _panels(model):
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        unit = defaults.get("unit", "")
        scale = (defaults.get("custom") or {}).get("scaleDistribution") or {}
        for target in panel.get("targets", []):
            found.append(
                PanelQuery(
                    dashboard=str(model.get("uid")),
                    panel=str(panel.get("title")),
                    ref_id=str(target.get("refId", "")),
                    expr=str(target.get("expr", "")),
                    legend=str(target.get("legendFormat", "")),
                    unit=str(unit),
                    log_scale=scale.get("type") == "log",
                )
            )
    return found


def concrete(expr: str, values: Mapping[str, str] = DEFAULT_VALUES) -> str:
    """Replace ``$var`` and ``${var}`` with values, as Grafana would before querying.

    Example:
        >>> concrete('rate(x{model=~"$model"}[$__rate_interval])')
        'rate(x{model=~".*"}[1m])'
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", substitute, expr)
