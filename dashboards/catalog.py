"""The dashboards inferwatch ships, and their generated JSON.

The Python builders are the source; ``generated/*.json`` is committed so that file
provisioning, the Helm chart's ConfigMaps and people without Python can use it.
``inferwatch dashboards generate --check`` (run in CI) fails when the two differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from inferwatch.dashboards import alerts_board, drift_board, gpu_fleet, inference, slo_board

GENERATED_DIR = Path(__file__).parent / "generated"
BUILDERS: dict[str, Callable[[], Dashboard]] = {
    gpu_fleet.UID: gpu_fleet.build,
    inference.UID: inference.build,
    drift_board.UID: drift_board.build,
    alerts_board.UID: alerts_board.build,
    slo_board.UID: slo_board.build,
}


def render(uid: str) -> dict[str, Any]:
    """One dashboard as Grafana's JSON model."""
    encoded = JSONEncoder(sort_keys=True, indent=2).encode(BUILDERS[uid]().build())
    model: dict[str, Any] = json.loads(encoded)
    _number_panels(model)
    return model


def _number_panels(model: dict[str, Any]) -> None:
    """Give panels and rows the unique integer ids Grafana links and alerts refer to."""
    next_id = 1
    for panel in model.get("panels", []):
        for item in [panel, *panel.get("panels", [])]:
            item["id"] = next_id
            next_id += 1


def serialise(model: dict[str, Any]) -> str:
    """The exact text committed under ``generated/``."""
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


def generate(directory: Path = GENERATED_DIR) -> list[Path]:
    """Write every dashboard's JSON into ``directory``; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for uid in BUILDERS:
        path = directory / f"{uid}.json"
        path.write_text(serialise(render(uid)))
        written.append(path)
    return written


def stale(directory: Path = GENERATED_DIR) -> list[str]:
    """Dashboards whose committed JSON differs from what the builders produce now."""
    out_of_date = []
    for uid in BUILDERS:
        path = directory / f"{uid}.json"
        if not path.exists() or path.read_text() != serialise(render(uid)):
            out_of_date.append(uid)
    expected = {f"{uid}.json" for uid in BUILDERS}
    out_of_date += sorted(p.name for p in directory.glob("*.json") if p.name not in expected)
    return out_of_date


def load_generated(directory: Path = GENERATED_DIR) -> dict[str, dict[str, Any]]:
    """The committed dashboards by uid."""
    return {uid: json.loads((directory / f"{uid}.json").read_text()) for uid in BUILDERS}
