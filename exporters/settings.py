"""Settings of the exporters (``exporters:`` in the YAML file, ``INFERWATCH_EXPORTERS__*``)."""

from pydantic import BaseModel, ConfigDict, Field

from inferwatch.exporters.gpu.settings import GpuSettings
from inferwatch.exporters.instrumentation.settings import InstrumentationSettings
from inferwatch.exporters.recorder.settings import RecorderSettings


class ExporterSettings(BaseModel):
    """GPU exporter, inference instrumentation and the prediction recorder."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Run the GPU exporter in `inferwatch up`.")
    gpu: GpuSettings = Field(default_factory=GpuSettings)
    instrumentation: InstrumentationSettings = Field(default_factory=InstrumentationSettings)
    recorder: RecorderSettings = Field(default_factory=RecorderSettings)
