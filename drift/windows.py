"""Live windows as the drift engine reads them (the types are the contract's).

The collector publishes a ``WindowSource`` as ``PartContext.shared["windows"]`` in one
process; ``LiveWindow`` and ``WindowSource`` live in ``inferwatch.contracts.windows``.
"""

from __future__ import annotations

from inferwatch.contracts.windows import LiveWindow, WindowSource

__all__ = ["SHARED_KEY", "LiveWindow", "WindowSource"]

SHARED_KEY = "windows"
