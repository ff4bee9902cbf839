"""The NVML GPU exporter: device reads, GPM profiling, NVLink, pod attribution and the
Prometheus collector that publishes them.

Public modules: ``exporter``, ``returns``, ``server``, ``settings``.
"""

__all__ = ["exporter", "returns", "server", "settings"]
