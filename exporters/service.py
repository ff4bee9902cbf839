"""The gpu-exporter part as it runs inside an inferwatch service.

It registers the GPU collector on the service's registry (so ``/metrics``
carries it), runs the background loop between ``start`` and ``stop``, and
reports on ``/readyz`` while starting, or while no GPU is found when
``exporters.gpu.require_gpu`` is set. Without a GPU it serves the exporter's
health series and says "no NVIDIA driver/GPU found" in its logs.
"""

from __future__ import annotations

import asyncio

from inferwatch.exporters.gpu.exporter import GpuExporterHandle, start_in_process
from inferwatch.parts import BasePart, Part, PartContext


class GpuExporterPart(BasePart):
    """Publishes NVML GPU metrics on the service's registry."""

    name = "gpu-exporter"

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        self.settings = context.settings.exporters.gpu
        self.handle: GpuExporterHandle | None = None

    async def start(self) -> None:
        """Start the exporter (NVML init runs in a worker thread: it can take a while)."""
        if self.handle is None:
            self.handle = await asyncio.to_thread(
                start_in_process, self.context.registry, self.settings
            )

    async def stop(self) -> None:
        """Stop the loop and unregister; idempotent."""
        handle, self.handle = self.handle, None
        if handle is not None:
            await asyncio.to_thread(handle.stop)

    def ready(self) -> str | None:
        """Not ready until started, or while no GPU is found and one is required."""
        if self.handle is None:
            return "GPU exporter not started"
        return self.handle.ready_reason(self.settings.require_gpu)


def build_part(context: PartContext) -> Part:
    """Build the gpu-exporter part on the shared context."""
    return GpuExporterPart(context)
