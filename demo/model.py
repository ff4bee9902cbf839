"""The demo's model server: the synthetic fraud model behind FastAPI, instrumented as a user would.

Two lines of set-up make it observable (``instrument`` and a ``PredictionRecorder``);
everything else is an ordinary model server. ``/generate`` fakes a small generative
model so the time-to-first-token and token metrics have something to show.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pandas as pd
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field

from inferwatch.demo.synthetic import MODEL, score


class PredictRequest(BaseModel):
    """KServe-v1-like body: one object of features per instance."""

    instances: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class GenerateRequest(BaseModel):
    """A prompt and how many tokens to produce."""

    prompt: str = Field(min_length=1, max_length=10_000)
    max_tokens: int = Field(default=16, ge=1, le=512)


def build_model_server(inferwatch_url: str, model_version: str = "1") -> FastAPI:
    """The instrumented model server; its predictions go to inferwatch at ``inferwatch_url``."""
    from inferwatch.exporters.instrumentation import instrument
    from inferwatch.exporters.recorder import PredictionRecorder
    from inferwatch.exporters.recorder.baseline import load_baseline

    registry = CollectorRegistry()
    recorder = PredictionRecorder(
        load_baseline(drift_url=inferwatch_url, model=MODEL),
        registry=registry,
        collector_url=inferwatch_url,
        model_version=model_version,
        reservoir_size=2000,
        flush_interval_seconds=1.0,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        recorder.close()
        instrumentation.shutdown()

    app = FastAPI(title=f"{MODEL} model (synthetic)", lifespan=lifespan)
    instrumentation = instrument(app, model=MODEL, model_version=model_version, registry=registry)

    @app.post("/predict")
    def predict(body: PredictRequest) -> dict[str, list[float]]:
        frame = pd.DataFrame(body.instances)
        scores = score(frame).round(4)
        frame["prediction"] = scores
        recorder.record_batch(frame)
        return {"predictions": scores.tolist()}

    @app.post("/generate")
    async def generate(body: GenerateRequest) -> dict[str, Any]:
        queued_at = time.perf_counter()
        await asyncio.sleep(0.002)  # waiting for a batch slot
        with instrumentation.inference(
            batch_size=1, queued_at=queued_at, operation="text_completion"
        ) as span:
            span.tokens(input=len(body.prompt.split()))
            await asyncio.sleep(0.02)  # prefill
            words = []
            for i in range(body.max_tokens):
                await asyncio.sleep(0.002)
                span.first_token()
                words.append(f"tok{i}")
            span.tokens(output=len(words))
        return {"text": " ".join(words)}

    return app
