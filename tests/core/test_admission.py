"""Admission before parsing (issue #14 item 1): decided before a route or auth sees a byte."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from inferwatch.admission import AdmissionMetrics, AdmissionMiddleware, body_limit
from inferwatch.app import create_app
from inferwatch.limits import LimitSettings
from inferwatch.settings import load_settings


def _app(limits: LimitSettings, gate: asyncio.Event | threading.Event | None = None) -> FastAPI:
    app = FastAPI()
    registry = CollectorRegistry()
    app.state.registry = registry
    seen: list[int] = []
    app.state.seen = seen

    @app.post("/small")
    async def small(request: Request) -> dict[str, int]:
        seen.append(len(await request.body()))
        return {"n": seen[-1]}

    @app.post("/big", openapi_extra=body_limit(64 * 1024, "test.big"))
    async def big(request: Request) -> dict[str, int]:
        body = await request.body()
        if isinstance(gate, asyncio.Event):
            await gate.wait()
        elif gate is not None:
            await asyncio.to_thread(gate.wait, 30)
        seen.append(len(body))
        return {"n": len(body)}

    routes = list(app.router.routes)
    app.add_middleware(
        AdmissionMiddleware,
        limits=limits,
        routes=lambda: routes,
        metrics=AdmissionMetrics(registry),
    )
    return app


def _metrics(app: FastAPI) -> str:
    return generate_latest(app.state.registry).decode()


async def _until(app: FastAPI, line: str, timeout: float = 10.0) -> None:
    """Wait, yielding to the app's tasks, until its metrics show ``line``."""
    deadline = time.monotonic() + timeout
    while line not in _metrics(app):
        assert time.monotonic() < deadline, f"never saw {line!r}"
        await asyncio.sleep(0.005)


def test_route_limits_on_length_and_while_streaming() -> None:
    app = _app(LimitSettings(max_body_bytes=2048))
    with TestClient(app) as client:
        assert client.post("/small", content=b"x" * 2048).json() == {"n": 2048}
        declared = client.post("/small", content=b"x" * 2049)
        assert declared.status_code == 413
        assert "2048" in declared.json()["detail"]

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"y" * 1000

        streamed = client.post("/small", content=chunks())  # chunked: no Content-Length
        assert streamed.status_code == 413
        assert client.post("/big", content=b"z" * 60_000).json() == {"n": 60_000}
        assert app.state.seen == [2048, 60_000]  # refused bodies never reached the route


def test_route_override_wins_over_the_routes_own_limit() -> None:
    app = _app(LimitSettings(route_max_body_bytes={"/big": 1024}))
    with TestClient(app) as client:
        assert client.post("/big", content=b"z" * 2000).status_code == 413


def test_busy_and_bytes_in_flight_answer_429_with_retry_after() -> None:
    limits = LimitSettings(
        max_concurrent_bodies=2, max_inflight_bytes=100_000, retry_after_seconds=3
    )

    async def scenario() -> list[httpx.Response]:
        gate = asyncio.Event()
        app = _app(limits, gate)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = asyncio.create_task(client.post("/big", content=b"a" * 60_000))
            await _until(app, "inferwatch_http_active_bodies 1.0")
            over_bytes = await client.post("/big", content=b"b" * 50_000)
            second = asyncio.create_task(client.post("/big", content=b"c" * 100))
            await _until(app, "inferwatch_http_active_bodies 2.0")
            busy = await client.post("/small", content=b"d" * 10)
            gate.set()
            after = [await first, await second]
            again = await client.post("/small", content=b"e" * 10)
            return [over_bytes, busy, *after, again]

    over_bytes, busy, *after, again = asyncio.run(scenario())
    assert over_bytes.status_code == 429
    assert "in flight" in over_bytes.json()["detail"]
    assert busy.status_code == 429
    assert "busy" in busy.json()["detail"]
    assert over_bytes.headers["retry-after"] == busy.headers["retry-after"] == "3"
    assert [r.status_code for r in after] == [200, 200]
    assert again.status_code == 200  # slots and bytes were released


def test_json_too_deep_or_too_many_values_is_refused_before_parsing() -> None:
    app = _app(LimitSettings(max_json_depth=8, max_json_elements=50))
    with TestClient(app) as client:
        deep = client.post(
            "/small", content=b"[" * 9 + b"]" * 9, headers={"content-type": "application/json"}
        )
        assert deep.status_code == 400
        many = client.post(
            "/small",
            content=b"[" + b"0," * 60 + b"0]",
            headers={"content-type": "application/json"},
        )
        assert many.status_code == 413
        text = client.post("/small", content=b"[" * 9, headers={"content-type": "text/plain"})
        assert text.status_code == 200  # only JSON bodies are scanned
        assert client.post("/small", content=b'["[[[[[[[[[[[["]').status_code == 200
        # a compressed body is bytes, not JSON text: its reader bounds what it inflates
        gzipped = {"content-type": "application/json", "content-encoding": "gzip"}
        assert client.post("/small", content=b"[" * 9, headers=gzipped).status_code == 200


def test_the_alertmanager_webhook_is_bounded_before_auth(tmp_path: Path) -> None:
    """An unauthenticated oversized webhook body is refused with 413 before it is read."""
    settings = load_settings(
        data_dir=tmp_path,
        server={"limits": {"max_body_bytes": 4096}},
        alerts={"actions": {"bearer_token": "s3cret"}},
    )
    app = create_app(settings, ["actions"])
    with TestClient(app) as client:
        big = client.post("/actions/alertmanager", content=b"{" + b" " * 10_000 + b"}")
        assert big.status_code == 413
        small = client.post("/actions/alertmanager", content=b"{}")
        assert small.status_code == 401  # within the limit, auth decides
        metrics = client.get("/metrics").text
        assert 'inferwatch_http_admission_refused_total{reason="too_large"} 1.0' in metrics
        assert 'route="/actions/alertmanager",status="413"' in metrics


@pytest.mark.parametrize("depth", [1, 63, 64, 65, 3000])
def test_scan_agrees_with_the_parser_on_depth(depth: int) -> None:
    from inferwatch.jsonscan import scan

    body = b'{"a": ' * depth + b'"\\\\\\"[{"' + b"}" * depth
    assert scan(body).depth == depth


def test_a_slow_body_gets_408_and_never_holds_a_parse_slot() -> None:
    limits = LimitSettings(max_concurrent_bodies=1, body_timeout_seconds=0.5)

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"s" * 10
            await asyncio.sleep(0.2)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        app = _app(limits)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            slow = asyncio.create_task(client.post("/small", content=trickle()))
            await _until(app, "inferwatch_http_inflight_body_bytes 10.0")  # it is sending
            fast = await client.post("/small", content=b"f" * 10)
            return await slow, fast

    slow, fast = asyncio.run(scenario())
    assert fast.status_code == 200  # the slow sender was still sending: no slot held
    assert slow.status_code == 408
    assert "body_timeout_seconds" in slow.json()["detail"]


def test_a_large_body_refused_for_busy_still_gets_its_429_over_real_http() -> None:
    """The refusal comes before the body is read; the client, still uploading, must see it."""
    from inferwatch.stack import ServedApp

    gate = threading.Event()
    app = _app(LimitSettings(max_concurrent_bodies=1, max_body_bytes=16 * 2**20), gate)
    server = ServedApp(app).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client, ThreadPoolExecutor(1) as pool:
            held = pool.submit(client.post, "/big", content=b"h" * 10)
            deadline = time.monotonic() + 10
            while "inferwatch_http_active_bodies 1.0" not in _metrics(app):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            with httpx.Client(base_url=server.url, timeout=30) as other:
                refused = other.post("/small", content=b"x" * (8 * 2**20))
                assert refused.status_code == 429
                assert refused.headers["retry-after"] == "1"
                again = other.post("/small", content=b"y" * 10)  # same connection, still up
                assert again.status_code == 429
            gate.set()
            assert held.result().status_code == 200
    finally:
        server.stop()
