"""The rules part inside an inferwatch service: routes, metrics, defaults, query client."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from inferwatch.alerts.rules._engine import RulesEngine, build_engine
from inferwatch.alerts.rules._query import PrometheusQueryClient, QueryError
from inferwatch.alerts.rules._store import AlertStore
from inferwatch.alerts.rules.model import parse_rule_text
from inferwatch.alerts.rules.service import RulesPart
from inferwatch.app import create_app
from inferwatch.parts import PartContext
from inferwatch.promql import Sample
from inferwatch.settings import Settings, load_settings

GROUPS = parse_rule_text(
    """
groups:
  - name: g
    interval: 1h
    rules:
      - alert: Drift
        expr: drift == 1
        labels: {severity: warning, action: retrain, model: "{{ $labels.model }}"}
        annotations: {summary: "{{ $labels.model }} drifted"}
      - alert: Broken
        expr: broken
"""
)


class Query:
    """Answers like a query API would; ``broken`` fails."""

    def __init__(self) -> None:
        self.drifting = True

    def __call__(self, expr: str, at: float) -> Sequence[Sample]:
        if expr == "broken":
            raise QueryError("parse error: unexpected end of input")
        return [Sample({"model": "fraud"}, 1.0)] if self.drifting else []


@pytest.fixture
def service(settings: Settings) -> Any:
    query = Query()
    engines: list[RulesEngine] = []

    def build(context: PartContext) -> RulesPart:
        engine = build_engine(context.settings, context.registry, query=query, groups=GROUPS)
        engines.append(engine)
        return RulesPart(context, engine=engine)

    with TestClient(create_app(settings, ["rules"], builders={"rules": build})) as client:
        engine = engines[0]
        deadline = time.monotonic() + 5
        while engine.groups["g"].evaluators[0].status.last_evaluation is None:
            assert time.monotonic() < deadline, "the loop never evaluated"
            time.sleep(0.01)
        yield client, engine, query


def test_groups_route_shows_rules_health_and_alerts(service: Any) -> None:
    client, _, _ = service
    (group,) = client.get("/rules/groups").json()
    assert group["name"] == "g" and group["interval_seconds"] == 3600
    drift, broken = group["rules"]
    assert drift["health"] == "ok" and drift["state"] == "firing"
    assert drift["alerts"][0]["labels"]["model"] == "fraud"
    assert drift["alerts"][0]["annotations"] == {"summary": "fraud drifted"}
    assert drift["alerts"][0]["value"] == "1"
    assert broken["health"] == "err" and "parse error" in broken["last_error"]
    assert client.get("/rules/groups/g").json()["name"] == "g"


def test_unknown_group_is_404_and_bad_state_filter_is_422(service: Any) -> None:
    client, _, _ = service
    missing = client.get("/rules/groups/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    assert client.get("/rules/alerts", params={"state": "burning"}).status_code == 422


def test_alerts_route_filters_by_state_and_follows_evaluations(service: Any) -> None:
    client, engine, query = service
    assert [a["state"] for a in client.get("/rules/alerts").json()] == ["firing"]
    assert client.get("/rules/alerts", params={"state": "pending"}).json() == []
    query.drifting = False
    engine.evaluate("g", time.time() + 1)
    (resolved,) = client.get("/rules/alerts", params={"state": "inactive"}).json()
    assert resolved["resolved_at"] is not None


def test_service_exports_its_own_metrics(service: Any) -> None:
    client, _, _ = service
    text = client.get("/metrics").text
    assert 'inferwatch_rules_evaluations_total{group="g"} 1.0' in text
    assert 'inferwatch_rules_evaluation_failures_total{group="g"} 1.0' in text
    assert 'inferwatch_rules_alerts{alertname="Drift",state="firing"} 1.0' in text
    assert 'inferwatch_rules_alerts{alertname="Broken",state="firing"} 0.0' in text
    assert 'inferwatch_rules_notifications_total{outcome="sent"} 0.0' in text
    assert 'inferwatch_rules_group_last_evaluation_timestamp_seconds{group="g"}' in text


def test_without_query_url_defaults_load_but_nothing_is_evaluated(settings: Settings) -> None:
    with TestClient(create_app(settings, ["rules"])) as client:
        groups = client.get("/rules/groups").json()
        assert sum(len(g["rules"]) for g in groups) >= 12
        assert {r["health"] for g in groups for r in g["rules"]} == {"unknown"}
        assert client.get("/rules/status").json() == {"evaluating": False, "alertmanagers": []}
        assert client.get("/readyz").status_code == 200


def test_settings_refuse_bad_urls() -> None:
    from inferwatch.errors import ConfigError

    with pytest.raises(ConfigError, match="query_url"):
        load_settings(alerts={"rules": {"query_url": "prometheus:9090"}})
    with pytest.raises(ConfigError, match="alertmanager_urls"):
        load_settings(alerts={"rules": {"alertmanager_urls": ["am:9093"]}})


def prometheus_answering(status: int, body: Any) -> PrometheusQueryClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/prom/api/v1/query"
        assert b"query=" in request.content and b"time=" in request.content
        return httpx.Response(status, json=body)

    return PrometheusQueryClient("http://q/prom", transport=httpx.MockTransport(handler))


def test_query_client_reads_vectors_and_scalars() -> None:
    vector = {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {"a": "b"}, "value": [1, "NaN"]}]},
    }
    (sample,) = prometheus_answering(200, vector).query("x", 1.0)
    assert sample.labels == {"a": "b"} and sample.value != sample.value
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [1, "2.5"]}}
    assert prometheus_answering(200, scalar).query("1", 1.0)[0].value == 2.5


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        pytest.param(400, {"status": "error", "error": "parse error"}, "parse error", id="400"),
        pytest.param(
            200,
            {"status": "success", "data": {"resultType": "matrix", "result": []}},
            "matrix",
            id="matrix",
        ),
        pytest.param(503, "down", "503", id="503"),
    ],
)
def test_query_client_errors_say_what_went_wrong(status: int, body: Any, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        prometheus_answering(status, body).query("x", 1.0)


SLOW = parse_rule_text(
    "groups: [{name: slow, interval: 1h, rules: [{alert: Drift, expr: drift == 1, for: 1h}]}]"
)


def test_alert_state_survives_a_restart_of_the_service(settings: Settings) -> None:
    query = Query()

    def build(context: PartContext) -> RulesPart:
        store = AlertStore(context.storage)
        engine = build_engine(
            context.settings, context.registry, query=query, groups=SLOW, store=store
        )
        return RulesPart(context, engine=engine)

    def pending(client: TestClient) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 5
        while not (alerts := client.get("/rules/alerts", params={"state": "pending"}).json()):
            assert time.monotonic() < deadline, "no pending alert"
            time.sleep(0.01)
        return alerts  # type: ignore[no-any-return]

    with TestClient(create_app(settings, ["rules"], builders={"rules": build})) as client:
        (first,) = pending(client)
    with TestClient(create_app(settings, ["rules"], builders={"rules": build})) as client:
        (again,) = pending(client)
    assert again["active_at"] == first["active_at"], "the `for` clock kept running"


def test_saved_state_older_than_the_tolerance_is_not_restored(
    tmp_path: Any, store_url: str
) -> None:
    from prometheus_client import CollectorRegistry

    from inferwatch.storage import open_storage

    storage = open_storage(store_url)
    storage.migrate()
    settings = load_settings(data_dir=tmp_path, alerts={"rules": {"restore_tolerance_seconds": 60}})
    now = [1000.0]

    def engine() -> RulesEngine:
        return build_engine(
            settings,
            CollectorRegistry(),
            query=Query(),
            groups=SLOW,
            store=AlertStore(storage),
            clock=lambda: now[0],
        )

    engine().evaluate("slow", 1000.0)
    now[0] = 1060.0
    fresh = engine()
    assert fresh.restore() == 1
    assert fresh.groups["slow"].alerts()[0].active_at == 1000.0
    now[0] = 1061.0
    assert engine().restore() == 0
    storage.close()


def test_nan_and_infinite_values_do_not_break_the_routes(settings: Settings) -> None:
    groups = parse_rule_text("groups: [{name: n, interval: 1h, rules: [{alert: Odd, expr: x}]}]")

    def query(expr: str, at: float) -> Sequence[Sample]:
        return [Sample({"k": "nan"}, float("nan")), Sample({"k": "inf"}, float("inf"))]

    def build(context: PartContext) -> RulesPart:
        engine = build_engine(context.settings, context.registry, query=query, groups=groups)
        return RulesPart(context, engine=engine)

    with TestClient(create_app(settings, ["rules"], builders={"rules": build})) as client:
        deadline = time.monotonic() + 5
        while not (alerts := client.get("/rules/alerts").json()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert sorted(a["value"] for a in alerts) == ["+Inf", "NaN"]
        assert client.get("/rules/groups").status_code == 200


def test_loop_evaluates_on_aligned_slots_and_counts_missed_ones(settings: Settings) -> None:
    import asyncio

    from prometheus_client import CollectorRegistry

    from inferwatch.storage import open_storage

    groups = parse_rule_text("groups: [{name: fast, interval: 10ms, rules: [{alert: A, expr: a}]}]")
    seen: list[float] = []

    def query(expr: str, at: float) -> Sequence[Sample]:
        seen.append(at)
        return []

    readings = [0.0, 0.035]  # the first evaluation "took" 35ms: slots 10, 20, 30 missed

    def clock() -> float:
        return readings.pop(0) if readings else seen[-1] + 0.001  # later ones take 1ms

    registry = CollectorRegistry()
    storage = open_storage(":memory:")
    context = PartContext(settings=settings, storage=storage, registry=registry)
    engine = build_engine(settings, registry, query=query, groups=groups)
    part = RulesPart(context, engine=engine, clock=clock)

    async def run() -> None:
        await part.start()
        while len(seen) < 3:
            await asyncio.sleep(0.005)
        await part.stop()

    asyncio.run(run())
    assert seen[:3] == pytest.approx([0.0, 0.04, 0.05])
    missed = registry.get_sample_value(
        "inferwatch_rules_iterations_missed_total", {"group": "fast"}
    )
    assert missed == 3
    storage.close()


def test_one_leader_posts_and_a_clean_stop_hands_the_episodes_over(postgres_server: Any) -> None:
    import asyncio

    from prometheus_client import CollectorRegistry

    from inferwatch.storage import open_storage

    url = postgres_server.create_database("rules_leader")
    settings = load_settings(
        database_url=url,
        alerts={"rules": {"query_url": "http://unused", "leader_lease_seconds": 1}},
    )
    groups = parse_rule_text(
        "groups: [{name: g, interval: 50ms, rules: [{alert: Drift, expr: d, for: 1h}]}]"
    )
    evaluated: dict[str, int] = {"a": 0, "b": 0}

    def part(name: str) -> RulesPart:
        storage = open_storage(url)
        storage.migrate()

        def query(expr: str, at: float) -> Sequence[Sample]:
            evaluated[name] += 1
            return [Sample({"model": "fraud"}, 1.0)]

        registry = CollectorRegistry()
        context = PartContext(settings=settings, storage=storage, registry=registry)
        engine = build_engine(
            settings, registry, query=query, groups=groups, store=AlertStore(storage)
        )
        return RulesPart(context, engine=engine)

    a, b = part("a"), part("b")

    async def scenario() -> tuple[float, float]:
        await a.start()
        await b.start()
        while evaluated["a"] < 3:
            await asyncio.sleep(0.02)
        assert a.leading and not b.leading
        assert a.context.registry.get_sample_value("inferwatch_rules_leader") == 1
        assert b.context.registry.get_sample_value("inferwatch_rules_leader") == 0
        assert evaluated["b"] == 0, "a follower evaluates nothing"
        (alert,) = a.engine.groups["g"].alerts()
        await a.stop()  # releases the lease: b takes over at its next renewal
        deadline = time.monotonic() + 5
        while not _leads(b) or evaluated["b"] == 0:
            assert time.monotonic() < deadline, "b did not take over"
            await asyncio.sleep(0.02)
        (continued,) = b.engine.groups["g"].alerts()
        await b.stop()
        return alert.active_at, continued.active_at

    before, after = asyncio.run(scenario())
    assert after == before, "the new leader continues the episode"
    for p in (a, b):
        p.context.storage.close()


def _leads(part: RulesPart) -> bool:
    """Read afresh (the leader flag changes in another task)."""
    return part.leading
