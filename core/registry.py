"""Where core finds the parts, by import path, without importing them.

Core depends on no part: each part is named here the way a package names an entry
point (``"module:attribute"``), and core imports the target only when it is used.
So ``inferwatch --help`` imports no part, and a part's settings and CLI load only
when that part's section or verb is asked for. A part adds itself by adding its
lines here (so does the ``demo`` verb, whose package is not a part); the targets, and
that core imports nothing else of theirs, are checked by ``tests/core/test_registry.py``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

PART_BUILDERS: dict[str, str] = {
    "collector": "inferwatch.collector.service:build_part",
    "drift": "inferwatch.drift.service:build_part",
    "rules": "inferwatch.alerts.rules.service:build_part",
    "actions": "inferwatch.alerts.actions.service:build_part",
    "gpu-exporter": "inferwatch.exporters.service:build_part",
}
"""Part name -> its ``build_part(context)``; order is start order (producers before consumers)."""

SETTINGS_SECTIONS: dict[str, str] = {
    "collector": "inferwatch.collector.settings:CollectorSettings",
    "exporters": "inferwatch.exporters.settings:ExporterSettings",
    "drift": "inferwatch.drift.settings:DriftSettings",
    "alerts": "inferwatch.alerts.settings:AlertsSettings",
    "dashboards": "inferwatch.dashboards.settings:DashboardSettings",
}
"""Settings section (YAML key, ``INFERWATCH_<SECTION>__*``) -> its model class."""


STORE_READERS: dict[str, str] = {
    "inferwatch.contracts.handoffs:WINDOWS": "inferwatch.collector.window_reader:WindowReader",
    "inferwatch.contracts.handoffs:BASELINES": "inferwatch.drift.store:BaselineStore",
}
"""Hand-off key -> a reader over the shared state store, built from the ``Storage`` when
a process uses the key but runs no part that publishes it (a drift replica reads the
collectors' merged windows, a collector replica the drift engine's baselines)."""


@dataclass(frozen=True)
class CliGroup:
    """A part's sub-command: where its Typer app lives and the one line ``--help`` shows."""

    target: str
    help: str


CLI_GROUPS: dict[str, CliGroup] = {
    "collector": CliGroup("inferwatch.collector.cli:app", "Ingest prediction records."),
    "exporter": CliGroup(
        "inferwatch.exporters.cli:app", "GPU exporter and inference instrumentation."
    ),
    "drift": CliGroup("inferwatch.drift.cli:app", "Baselines, drift checks and the drift engine."),
    "quality": CliGroup(
        "inferwatch.drift.quality.cli:app",
        "Model quality: realized and estimated performance, multivariate drift.",
    ),
    "rules": CliGroup(
        "inferwatch.alerts.rules.cli:app", "Rule groups, their evaluation and export."
    ),
    "actions": CliGroup(
        "inferwatch.alerts.actions.cli:app",
        "Alertmanager webhook receiver: scale and retrain actions.",
    ),
    "slo": CliGroup(
        "inferwatch.alerts.slo.cli:app", "SLOs: recording rules and burn-rate alerts from specs."
    ),
    "dashboards": CliGroup(
        "inferwatch.dashboards.cli:app", "Grafana dashboards as code: generate, check and push."
    ),
    "db": CliGroup("inferwatch.cli_db:app", "Schema of the state store (SQLite or PostgreSQL)."),
    "demo": CliGroup(
        "inferwatch.demo.cli:demo",
        "Run the whole chain: baseline, traffic, drift, alert, retraining webhook "
        "(about a minute).",
    ),
}
"""``inferwatch <name>`` -> the part's Typer app, or one verb's function (``demo``, whose
package is not a part: core imports it only here, by name)."""


DEFAULT_PORTS: dict[str, int] = {
    "collector": 8687,
    "drift": 8688,
    "rules": 8689,
    "actions": 8690,
    "gpu-exporter": 8691,
}
"""Where ``inferwatch <part> serve`` listens unless ``--port`` or ``server.port`` says
otherwise, so parts run side by side on one host; ``inferwatch up`` (every part in one
process) keeps ``server.port``'s default, 8686."""


def import_target(target: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
