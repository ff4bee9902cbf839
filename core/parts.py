"""How a part (collector, drift engine, rules, actions, exporter) plugs into a service.

A part is built from a ``PartContext`` and hands the app factory what it needs:
an optional router, its schema migrations, start/stop hooks for background
loops, and a readiness check. ``inferwatch up`` runs every enabled part in one
process; ``inferwatch <part> serve`` runs one. Parts register by name in
``inferwatch.registry.PART_BUILDERS`` (imported lazily, so a part's heavy imports
cost nothing until it is used).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry

from inferwatch.errors import ConfigError
from inferwatch.handoffs import Handoffs
from inferwatch.registry import PART_BUILDERS, import_target
from inferwatch.settings import Settings

if TYPE_CHECKING:  # SQLAlchemy and FastAPI: not for `inferwatch --help` nor the lean install
    from fastapi import APIRouter

    from inferwatch.storage import Storage


@dataclass
class PartContext:
    """Everything a part may depend on, injected so tests can replace any of it."""

    settings: Settings
    storage: Storage
    registry: CollectorRegistry
    handoffs: Handoffs = field(default_factory=Handoffs)
    """Objects parts publish for each other in one process, under typed keys (the
    collector's window store, the drift engine's baselines: ``inferwatch.contracts.handoffs``)."""


class Part(Protocol):
    """One part running inside a service."""

    name: str

    def router(self) -> APIRouter | None:
        """Routes this part serves, or None."""
        ...

    def migrations(self) -> Sequence[Path]:
        """Folders of extra Alembic revisions this part brings, applied before ``start``.

        The parts shipped with inferwatch keep theirs in the one shared history
        (``inferwatch.migrate``), which every service applies in full; they return ().
        """
        ...

    async def start(self) -> None:
        """Start background work; called once the store is migrated."""
        ...

    async def stop(self) -> None:
        """Stop background work; must be idempotent."""
        ...

    def ready(self) -> str | None:
        """None when ready to serve, else a short reason."""
        ...


PartBuilder = Callable[[PartContext], Part]


def load_builder(name: str) -> PartBuilder:
    """Import the builder of part ``name``."""
    try:
        target = PART_BUILDERS[name]
    except KeyError:
        known = ", ".join(PART_BUILDERS)
        raise ConfigError(f"unknown part {name!r}; known parts: {known}") from None
    builder: PartBuilder = import_target(target)
    return builder


def enabled_parts(settings: Settings) -> list[str]:
    """The parts `inferwatch up` runs under these settings."""
    flags = {
        "collector": settings.collector.enabled,
        "drift": settings.drift.enabled,
        "rules": settings.alerts.rules.enabled,
        "actions": settings.alerts.actions.enabled,
        "gpu-exporter": settings.exporters.enabled,
    }
    return [name for name in PART_BUILDERS if flags.get(name, True)]


class BasePart:
    """Defaults for a part: no routes, no tables, nothing to start, always ready."""

    name = "part"

    def __init__(self, context: PartContext) -> None:
        self.context = context

    def router(self) -> APIRouter | None:
        """Routes this part serves, or None."""
        return None

    def migrations(self) -> Sequence[Path]:
        """Folders of extra Alembic revisions (none)."""
        return ()

    async def start(self) -> None:
        """Start background work."""

    async def stop(self) -> None:
        """Stop background work."""

    def ready(self) -> str | None:
        """None when ready."""
        return None
