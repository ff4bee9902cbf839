"""inferwatch: observability and drift monitoring for AI inference.

The distribution is built from the repository's top-level folders; this package
is the small shared core (settings, CLI, storage, HTTP app factory, logging) and
the parts install beside it as ``inferwatch.collector``, ``inferwatch.exporters``,
``inferwatch.drift``, ``inferwatch.alerts`` and ``inferwatch.dashboards``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("inferwatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
