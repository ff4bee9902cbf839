"""Copy the generated dashboards and the shipped rules into the Helm chart.

Helm's ``.Files`` can only read files inside the chart, so the chart carries copies of
``dashboards/generated/*.json`` (Grafana sidecar ConfigMaps) and ``alerts/rules/*.yaml``
(PrometheusRules). This script makes the copies match their sources, removing copies
whose source is gone; ``--check`` only reports differences and exits 1 when there are
any (what CI and ``tests/helm`` run).

Usage: ``.venv/bin/python scripts/sync_chart_assets.py [--check] [--root DIR]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART = Path("helm") / "inferwatch"


@dataclass(frozen=True)
class AssetSet:
    """One kind of asset: where the sources are, which files, where the chart keeps copies."""

    source: Path
    pattern: str
    target: Path


ASSETS = (
    AssetSet(Path("dashboards") / "generated", "*.json", CHART / "dashboards"),
    AssetSet(Path("alerts") / "rules", "*.yaml", CHART / "rules"),
    AssetSet(Path("alerts") / "recording", "*.yaml", CHART / "recording"),
)


@dataclass(frozen=True)
class Change:
    """One copy that differs from its source: ``copy`` (new or changed) or ``remove`` (stale)."""

    kind: str
    source: Path | None
    target: Path

    def describe(self, root: Path) -> str:
        """One line naming the file relative to ``root``."""
        target = self.target.relative_to(root)
        if self.source is None:
            return f"remove {target} (its source is gone)"
        return f"copy {self.source.relative_to(root)} -> {target}"


def plan(root: Path = ROOT, assets: tuple[AssetSet, ...] = ASSETS) -> list[Change]:
    """What a sync would do; empty when the chart's copies are up to date."""
    changes: list[Change] = []
    for asset in assets:
        source_dir, target_dir = root / asset.source, root / asset.target
        sources = sorted(source_dir.glob(asset.pattern)) if source_dir.is_dir() else []
        names = {path.name for path in sources}
        for source in sources:
            target = target_dir / source.name
            if not target.is_file() or target.read_bytes() != source.read_bytes():
                changes.append(Change("copy", source, target))
        if target_dir.is_dir():
            for stale in sorted(target_dir.glob(asset.pattern)):
                if stale.name not in names:
                    changes.append(Change("remove", None, stale))
    return changes


def apply(changes: list[Change]) -> None:
    """Carry out the planned changes."""
    for change in changes:
        if change.source is None:
            change.target.unlink()
        else:
            change.target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(change.source, change.target)


def main(argv: list[str] | None = None) -> int:
    """Sync (or with ``--check`` verify) the chart's copies; 1 when ``--check`` finds drift."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report differences, change nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    changes = plan(root)
    for change in changes:
        sys.stdout.write(("would " if args.check else "") + change.describe(root) + "\n")
    if args.check:
        return 1 if changes else 0
    apply(changes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
