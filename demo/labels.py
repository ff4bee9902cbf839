"""Late labels for the demo: the model's predictions now, whether they were fraud later.

The load generator sends each answered request's predictions to the collector as
outcomes (id, flagged class, score) and, ``delay_seconds`` later, their actuals by id,
as a chargeback feed would (days in real life, seconds here). So the drift engine first
*estimates* each window's quality from its scores, then replaces the estimate with the
*realized* one as the labels arrive, and after the shift shows accuracy dropping.
"""

from __future__ import annotations

import time
from collections import deque

import httpx
import numpy as np

from inferwatch.demo.synthetic import flagged, fraud_labels

QUALITY_COLUMNS = {
    "target": "fraud",
    "prediction": "flagged",
    "score": "fraud_score",
    "positive": "1",
    "prediction_id": "payment_id",
}
"""The outcome columns of the demo model's baseline (query of ``POST /drift/baselines``)."""


class LateLabels:
    """Sends predictions as outcomes now and their labels ``delay_seconds`` later."""

    def __init__(self, outcomes_url: str, delay_seconds: float = 2.0) -> None:
        self.url = outcomes_url
        self.delay_seconds = delay_seconds
        self._due: deque[tuple[float, list[str], list[str]]] = deque()

    def predicted(self, client: httpx.Client, scores: list[float], shift: float, seed: int) -> None:
        """Send one request's predictions; keep their labels for later."""
        values = np.asarray(scores, dtype=float)
        ids = [f"{seed}-{i}" for i in range(values.size)]
        client.post(
            self.url,
            json={
                "columns": {
                    "payment_id": ids,
                    "flagged": flagged(values),
                    "fraud_score": values.tolist(),
                }
            },
        )
        labels = fraud_labels(values, shift=shift, seed=seed)
        self._due.append((time.monotonic() + self.delay_seconds, ids, labels))

    def send_due(self, client: httpx.Client) -> None:
        """Send the labels whose delay has passed."""
        while self._due and self._due[0][0] <= time.monotonic():
            _, ids, labels = self._due.popleft()
            client.post(self.url, json={"columns": {"payment_id": ids, "fraud": labels}})
