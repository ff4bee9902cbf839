"""The gpu-exporter part as it runs inside an inferwatch service."""

from __future__ import annotations

from inferwatch.parts import BasePart, Part, PartContext


class GpuExporterPart(BasePart):
    """Publishes NVML GPU metrics on the service's registry."""

    name = "gpu-exporter"


def build_part(context: PartContext) -> Part:
    """Build the gpu-exporter part on the shared context."""
    return GpuExporterPart(context)
