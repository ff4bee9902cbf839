"""Settings of the exporters' gpu piece (``exporters.gpu`` / ``INFERWATCH_EXPORTERS__GPU__*``)."""

from pydantic import BaseModel


class GpuSettings(BaseModel):
    """The NVML GPU collector."""
