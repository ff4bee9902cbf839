"""Load the recorder's baseline: a mounted JSON file, or the drift service over HTTP.

The drift service serves the latest baseline of a model at
``GET {drift_url}/drift/baselines/{model}`` (``BaselineSpec.to_dict()`` plus extra
keys, which are ignored). A file holds the same document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from inferwatch.contracts.spec import BaselineSpec
from inferwatch.errors import ConfigError
from inferwatch.http_client import Call, HttpCallError, HttpClient, RetryPolicy, auth_for
from inferwatch.httputil import redact_text, redact_url

BASELINE_RETRY = RetryPolicy(attempts=3, backoff_seconds=0.5, max_retry_after_seconds=10.0)
"""A read at start-up: a drift service that is still starting gets a few seconds."""


def baseline_url(drift_url: str, model: str) -> str:
    """Where the drift service serves ``model``'s latest baseline."""
    return f"{drift_url.rstrip('/')}/drift/baselines/{quote(model, safe='')}"


def load_baseline(
    *,
    file: Path | None = None,
    drift_url: str | None = None,
    model: str | None = None,
    api_token: str | None = None,
    timeout_seconds: float = 5.0,
    transport: httpx.BaseTransport | None = None,
) -> BaselineSpec:
    """The baseline from ``file`` if given, else from the drift service."""
    if file is not None:
        try:
            return _parse(json.loads(file.read_text()), str(file))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read baseline file {file}: {exc}") from exc
    if drift_url is None or model is None:
        raise ConfigError("the recorder needs a baseline_file, or a drift_url and a model")
    url = baseline_url(drift_url, model)
    try:
        with HttpClient(
            timeout=timeout_seconds, auth=auth_for(bearer_token=api_token), transport=transport
        ) as http:
            response = http.request("GET", url, call=Call.READ, retry=BASELINE_RETRY)
    except HttpCallError as exc:
        raise ConfigError(f"cannot fetch the baseline: {exc}") from exc
    if response.status_code != 200:
        raise ConfigError(
            f"drift service answered {response.status_code} for {redact_url(url)}: "
            f"{redact_text(response.text[:200])}"
        )
    return _parse(response.json(), url)


def _parse(data: Any, where: str) -> BaselineSpec:
    if isinstance(data, dict) and isinstance(data.get("baseline"), dict):
        data = data["baseline"]
    try:
        return BaselineSpec.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where} does not hold a baseline: {exc}") from exc
