"""Instrumentation settings (``exporters.instrumentation`` in YAML)."""

from pydantic import BaseModel


class InstrumentationSettings(BaseModel):
    """OpenTelemetry instrumentation of the model server."""
