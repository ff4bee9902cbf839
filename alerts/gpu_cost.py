"""GPU prices as Prometheus recording rules, for the cost-per-inference rules.

``alerts/recording/gpu_cost.yaml`` reads the price of a GPU-hour from one series per
GPU model, ``inferwatch:gpu_price_per_hour{name="<GPU model>"}``. These rules make
those series from a mapping of GPU model to price, so that the price is
configuration (Helm value ``gpuCost.pricePerGpuHour``, which the chart renders the
same way) and not a number edited into a rule file. The price is in whatever
currency the mapping uses; the cost rules never convert.

Example:
    >>> rules = price_rules({"NVIDIA H100 80GB HBM3": 4.25})
    >>> rules["groups"][0]["rules"][0]["expr"]
    'vector(4.25)'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from inferwatch.alerts.rules.model import RuleFileError

PRICE_SERIES = "inferwatch:gpu_price_per_hour"
PRICE_GROUP = "inferwatch-gpu-prices"

__all__ = ["PRICE_GROUP", "PRICE_SERIES", "cost_rule_file", "price_rules", "render_price_rules"]


def price_rules(prices: Mapping[str, float], interval: str = "30s") -> dict[str, Any]:
    """One recording rule per GPU model: a constant series labelled with the model's name.

    Raises ``RuleFileError`` naming the GPU model whose price is not a finite number >= 0.
    """
    rules = []
    for name, price in sorted(prices.items()):
        if not name.strip():
            raise RuleFileError("GPU price: the GPU model name is empty")
        if isinstance(price, bool) or not isinstance(price, int | float):
            raise RuleFileError(f"GPU price of {name!r}: {price!r} is not a number")
        if not math.isfinite(price) or price < 0:
            raise RuleFileError(f"GPU price of {name!r}: {price!r} must be finite and >= 0")
        rules.append(
            {"record": PRICE_SERIES, "expr": f"vector({price!r})", "labels": {"name": name}}
        )
    return {"groups": [{"name": PRICE_GROUP, "interval": interval, "rules": rules}]}


def cost_rule_file() -> Path:
    """The shipped cost and waste recording rules (``alerts/recording/gpu_cost.yaml``)."""
    return Path(str(resources.files("inferwatch.alerts").joinpath("recording/gpu_cost.yaml")))


def render_price_rules(prices: Mapping[str, float]) -> str:
    """``price_rules`` as YAML, ready to be a Prometheus rule file."""
    return yaml.safe_dump(price_rules(prices), sort_keys=False)
