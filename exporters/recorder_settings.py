"""Prediction recorder settings (``exporters.recorder`` in YAML)."""

from pydantic import BaseModel


class RecorderSettings(BaseModel):
    """The prediction recorder next to the model."""
