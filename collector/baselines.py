"""Where the collector finds a model's baseline: the drift engine, else JSON files.

In ``inferwatch up`` the drift engine publishes its baselines as a ``BaselineSource``
(``inferwatch.contracts.handoffs.BASELINES``). It is looked up at request time, not at
start, so start order does not matter. Standalone, baselines come from
``collector.baseline_dir``: ``*.json`` files in ``BaselineSpec.to_dict()`` form; the
highest ``version`` per model wins. The directory is re-read at most every
``refresh_seconds``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from inferwatch.contracts.handoffs import BASELINES
from inferwatch.contracts.spec import BaselineSpec
from inferwatch.handoffs import Handoffs

log = logging.getLogger("inferwatch.collector")


class BaselineResolver:
    """Latest baseline of a model from the in-process drift engine or a directory."""

    def __init__(
        self,
        handoffs: Handoffs,
        directory: Path | None,
        *,
        refresh_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._handoffs = handoffs
        self._directory = directory
        self._refresh = refresh_seconds
        self._clock = clock
        self._files: dict[str, BaselineSpec] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def get(self, model: str) -> BaselineSpec | None:
        """The baseline to validate ``model``'s records against, or None."""
        source = self._handoffs.get(BASELINES)
        if source is not None:
            found = source.get(model)
            if found is not None:
                return found
        if self._directory is None:
            return None
        return self._from_files().get(model)

    def _from_files(self) -> dict[str, BaselineSpec]:
        with self._lock:
            now = self._clock()
            if self._loaded_at is None or now - self._loaded_at >= self._refresh:
                self._files = load_directory(self._directory) if self._directory else {}
                self._loaded_at = now
            return self._files


def load_directory(directory: Path) -> dict[str, BaselineSpec]:
    """Every readable baseline file in ``directory``, newest version per model."""
    found: dict[str, BaselineSpec] = {}
    if not directory.is_dir():
        log.warning("baseline directory %s does not exist", directory)
        return found
    for path in sorted(directory.glob("*.json")):
        try:
            baseline = BaselineSpec.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("skipping baseline file %s: %s", path, exc)
            continue
        current = found.get(baseline.model)
        if current is None or baseline.version > current.version:
            found[baseline.model] = baseline
    return found
