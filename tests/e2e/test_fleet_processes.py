"""The drift data plane of a fleet, every part its own process (issue 19, item 5).

PostgreSQL; two collector and two drift processes; the rules service and the actions
receiver; a real Prometheus (scraping the drift replicas' verdicts and the pods) and
Alertmanager routing to the actions receiver, which calls a loopback CI target; three
"pod" processes (``inferwatch.testing.fleet_pod``: an instrumented FastAPI model whose
recorder ships window summaries), pods 1-2 to collector A, pod 3 to collector B, each
knowing the other collector as a fail-over.

Asserted: after a shift of one feature in every pod's traffic, exactly one retraining
call, naming that feature; the alert's report link answers 200 from both drift
replicas; collector A is killed (-9) mid-run, the pods ship to B, and every record the
collectors acknowledged (the pods' ``inferwatch_recorder_shipped_total``) is in the
store's merged windows.
"""

from __future__ import annotations

import io
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pandas as pd
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from inferwatch.exporters.recorder.baseline import load_baseline
from inferwatch.pgserver import PostgresServer
from inferwatch.stack import AlertmanagerProcess, PrometheusProcess
from inferwatch.storage import SqlStorage, open_storage
from inferwatch.testing.actions import RecordingServer, Reply
from inferwatch.testing.fleet_pod import MODEL, traffic

from .conftest import Proc, poll

pytestmark = pytest.mark.stack

TOKEN = "am-token"
WINDOW_SECONDS = 2
FLUSH_SECONDS = 1.0
ROWS_PER_REQUEST = 50
REQUESTS_PER_SECOND = 4.0
CALM_WINDOWS = 2
"""Windows evaluated before the shift (and before collector A is killed)."""
SHIFT = 1.5
"""``amount``'s shift, in standard deviations."""


class Load:
    """Sends every pod ``ROWS_PER_REQUEST`` rows ``REQUESTS_PER_SECOND`` times a second."""

    def __init__(self, pods: list[Proc]) -> None:
        self.pods = pods
        self.shift = 0.0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-load", daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        seed = 1000
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                for pod in self.pods:
                    seed += 1
                    columns = traffic(ROWS_PER_REQUEST, seed=seed, amount_shift=self.shift)
                    rows = pd.DataFrame(columns).to_dict(orient="records")
                    try:
                        answer = client.post(f"{pod.url}/predict", json={"instances": rows})
                    except httpx.HTTPError as exc:
                        self.failed.append(f"{pod.name}: {exc!r}")
                        continue
                    if answer.status_code != 200:
                        self.failed.append(f"{pod.name}: {answer.status_code} {answer.text}")
                self._stop.wait(max(0.0, 1 / REQUESTS_PER_SECOND - (time.monotonic() - started)))


def recorder_health(pod: Proc) -> dict[str, float]:
    """A pod's recorder counters: records, shipped, dropped (all reasons), queued."""
    text = httpx.get(f"{pod.url}/metrics", timeout=5).text
    out = {"records": 0.0, "shipped": 0.0, "dropped": 0.0, "queued": 0.0}
    names = {
        "inferwatch_prediction_records": "records",
        "inferwatch_recorder_shipped": "shipped",
        "inferwatch_recorder_dropped": "dropped",
        "inferwatch_recorder_queued_windows": "queued",
    }
    for family in text_string_to_metric_families(text):
        key = names.get(family.name)
        if key is None:
            continue
        for sample in family.samples:
            if sample.labels.get("model") == MODEL and not sample.name.endswith("_created"):
                out[key] += sample.value
    return out


def drift_rules(tmp: Path) -> Path:
    """The shipped InferwatchDriftDetected rule at test speed (``for`` 2s, 1s interval)."""
    shipped = yaml.safe_load(files("inferwatch.alerts").joinpath("rules/drift.yaml").read_text())
    rule = next(
        dict(r)
        for group in shipped["groups"]
        for r in group["rules"]
        if r.get("alert") == "InferwatchDriftDetected"
    )
    rule["for"] = "2s"
    rule["keep_firing_for"] = "60s"
    path = tmp / "drift-rules.yaml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "fleet", "interval": "1s", "rules": [rule]}]})
    )
    return path


@dataclass(repr=False)
class Fleet:
    """The processes of one run (alive while the checks run) and what the story saw."""

    work: Path
    store: SqlStorage
    ci: RecordingServer
    drifts: list[Proc] = field(default_factory=list)
    collectors: list[Proc] = field(default_factory=list)
    pods: list[Proc] = field(default_factory=list)
    others: list[Proc] = field(default_factory=list)
    stack: list[PrometheusProcess | AlertmanagerProcess] = field(default_factory=list)
    load_failures: list[str] = field(default_factory=list)
    calls_before_shift: int = 0
    calm: list[dict[str, Any]] = field(default_factory=list)
    """Evaluations of windows before the shift."""
    shipped_at_kill: list[float] = field(default_factory=list)
    health: list[dict[str, float]] = field(default_factory=list)
    """Each pod's recorder counters once everything it recorded was shipped."""
    timeline: dict[str, float] = field(default_factory=dict)

    @property
    def actions(self) -> Proc:
        return next(p for p in self.others if p.name == "actions")

    def mark(self, what: str, since: float) -> None:
        self.timeline[what] = round(time.monotonic() - since, 1)

    def stop(self) -> None:
        procs = [*self.pods, *self.others, *self.collectors, *self.drifts]
        for proc in procs:  # all at once, then wait: shutdowns overlap
            proc.terminate()
        for proc in procs:
            proc.stop()
        for process in self.stack:
            process.cleanup()
        self.ci.stop()
        self.store.close()


def audit(fleet: Fleet) -> list[str]:
    """The actions receiver's audit outcomes, oldest first."""
    url = f"{fleet.actions.url}/actions/audit"
    entries = httpx.get(url, params={"limit": 1000}, timeout=5).json()["entries"]
    return [str(e["outcome"]) for e in entries]


@pytest.fixture(scope="module")
def fleet(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[Fleet]:
    work = tmp_path_factory.mktemp("fleet")
    url = postgres_server.create_database("fleet")
    store = open_storage(url)
    store.migrate()
    fleet = Fleet(work, store, RecordingServer(lambda _: Reply(204)).start())
    try:
        run_story(fleet, url)
        print(f"fleet timeline (s): {fleet.timeline}")
        yield fleet
    finally:
        fleet.stop()


def run_story(fleet: Fleet, url: str) -> None:
    """Start every process, send calm traffic, kill collector A, shift, let it settle."""
    began = time.monotonic()
    work = fleet.work
    policy = work / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "actions": {"retrain": {"target": "ci", "cooldown_seconds": 3600}},
                "targets": {"ci": {"type": "webhook", "url": f"{fleet.ci.url}/retrain"}},
            }
        )
    )
    base: dict[str, Any] = {
        "database_url": url,
        "log_format": "text",
        "data_dir": str(work / "d"),
        "collector": {"window_seconds": WINDOW_SECONDS, "reservoir_size": 2000},
        "drift": {"interval_seconds": 1, "window_grace_seconds": 1},
    }
    fleet.drifts = [Proc.part(work, "drift", f"drift-{n}", base) for n in "ab"]
    actions = {
        "policy_file": str(policy),
        "bearer_token": TOKEN,
        "drift_url": fleet.drifts[1].url,
        "backoff_initial_seconds": 0.1,
        "backoff_max_seconds": 0.5,
        "poll_interval_seconds": 0.1,
        "request_timeout_seconds": 5,
    }
    fleet.others.append(
        Proc.part(work, "actions", "actions", {**base, "alerts": {"actions": actions}})
    )
    fleet.collectors = [Proc.part(work, "collector", f"collector-{n}", base) for n in "ab"]
    for proc in (*fleet.drifts, fleet.actions, *fleet.collectors):
        proc.wait_ready()

    # the baseline, through one drift replica's API; collectors and pods read it elsewhere
    reference = io.StringIO()
    pd.DataFrame(traffic(5000, seed=1)).to_csv(reference, index=False)
    created = httpx.post(
        f"{fleet.drifts[0].url}/drift/baselines/{MODEL}",
        content=reference.getvalue().encode(),
        headers={"Content-Type": "text/csv"},
        timeout=60,
    )
    assert created.status_code == 201, created.text
    spec = load_baseline(drift_url=fleet.drifts[1].url, model=MODEL)  # the other replica
    assert spec.version == created.json()["version"]
    fleet.mark("baseline created", began)

    a, b = fleet.collectors
    for i, route in enumerate([(a, b), (a, b), (b, a)]):
        args = [sys.executable, "-m", "inferwatch.testing.fleet_pod", "--port", "{port}"]
        args += ["--drift-url", fleet.drifts[i % 2].url, "--flush-seconds", str(FLUSH_SECONDS)]
        args += [arg for c in route for arg in ("--collector", c.url)]
        fleet.pods.append(Proc(work, f"pod-{i + 1}", args, "/metrics"))
    am = AlertmanagerProcess(alertmanager_config=alertmanager_config(fleet.actions.url))
    fleet.stack.append(am)
    am.start()
    targets = [urlsplit(p.url).netloc for p in (*fleet.drifts, *fleet.collectors, *fleet.pods)]
    prometheus = PrometheusProcess(scrape_targets=targets)
    fleet.stack.append(prometheus)
    prometheus.start()
    rules = {
        "alertmanager_url": am.url,
        "rules": {
            "query_url": prometheus.url,
            "include_default_rules": False,
            "rule_files": [str(drift_rules(work))],
            "external_url": fleet.drifts[0].url,
            "resend_delay_seconds": 1,
        },
    }
    fleet.others.append(Proc.part(work, "rules", "rules", {**base, "alerts": rules}))
    for proc in (*fleet.pods, *fleet.others):
        proc.wait_ready()
    fleet.mark("fleet up", began)

    load = Load(fleet.pods).start()
    try:
        # calm traffic reaches both collectors; then collector A dies mid-run
        poll(
            lambda: all(recorder_health(p)["shipped"] > 0 for p in fleet.pods),
            30,
            "every pod's first acknowledged summary",
        )
        wait = (CALM_WINDOWS + 2) * WINDOW_SECONDS + 20  # slack for a loaded CI machine
        fleet.calm = poll(lambda: calm(fleet), wait, "calm windows evaluated", must=False) or []
        fleet.mark("calm traffic flowing", began)
        a.kill()
        fleet.shipped_at_kill = [recorder_health(p)["shipped"] for p in fleet.pods]
        poll(
            lambda: all(
                recorder_health(p)["shipped"] > k
                for p, k in zip(fleet.pods, fleet.shipped_at_kill, strict=True)
            ),
            30,
            "pods shipping on after collector A was killed",
        )
        fleet.mark("collector A killed, pods shipping to B", began)
        fleet.calls_before_shift = len(fleet.ci.requests)
        load.shift = SHIFT
        fleet.mark("traffic shifted", began)
        if poll(fleet.ci.successes, 45, "the retraining call", must=False):
            fleet.mark("retraining call", began)
            # Alertmanager re-sends every second: wait for re-sends to be deduplicated
            poll(lambda: audit(fleet).count("deduplicated") >= 2, 20, "re-sends", must=False)
    finally:
        load.stop()
    fleet.load_failures = load.failed

    def settled() -> list[dict[str, float]] | None:
        health = [recorder_health(p) for p in fleet.pods]
        done = all(h["queued"] == 0 and h["shipped"] + h["dropped"] == h["records"] for h in health)
        return health if done else None

    fleet.health = poll(settled, 20, "every pod's last summary acknowledged")
    fleet.mark("settled", began)


def alertmanager_config(actions_url: str) -> dict[str, Any]:
    """Retrain alerts to the actions receiver, every second while they fire."""
    hook = {
        "url": f"{actions_url}/actions/alertmanager",
        "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN}},
    }
    return {
        "route": {
            "receiver": "null",
            "group_by": ["alertname", "model"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1s",
            "routes": [{"receiver": "actions", "matchers": ['action="retrain"']}],
        },
        "receivers": [{"name": "null"}, {"name": "actions", "webhook_configs": [hook]}],
    }


def evaluations(fleet: Fleet) -> list[dict[str, Any]]:
    """The model's evaluations with rows (by either drift replica), newest first."""
    answer = httpx.get(
        f"{fleet.drifts[0].url}/drift/models/{MODEL}/results", params={"limit": 100}, timeout=5
    )
    if answer.status_code != 200:
        return []
    return [r for r in answer.json()["results"] if r.get("rows")]


def calm(fleet: Fleet) -> list[dict[str, Any]]:
    """The evaluations so far, once they cover ``CALM_WINDOWS`` windows."""
    found = evaluations(fleet)
    return found if len({r["window_start"] for r in found}) >= CALM_WINDOWS else []


def stored_rows(fleet: Fleet) -> tuple[int, int]:
    """Rows in the model's merged windows, and the same counted from one feature's bins."""
    rows = fleet.store.query(
        "SELECT COALESCE(SUM(rows), 0) FROM collector_windows WHERE model = ?", (MODEL,)
    )
    binned = fleet.store.query(
        "SELECT (SELECT COALESCE(SUM(n), 0) FROM collector_bins "
        "WHERE model = ? AND feature = 'age') + (SELECT COALESCE(SUM(missing), 0) "
        "FROM collector_feature_totals WHERE model = ? AND feature = 'age')",
        (MODEL, MODEL),
    )
    return int(rows[0][0]), int(binned[0][0])


def test_pods_fail_over_and_no_acknowledged_summary_is_lost(fleet: Fleet) -> None:
    assert fleet.load_failures == []
    assert fleet.collectors[0].proc.returncode == -signal.SIGKILL
    # pods 1-2 shipped to A before it died, and to B after
    assert all(k > 0 for k in fleet.shipped_at_kill)
    shipped = sum(h["shipped"] for h in fleet.health)
    assert [h["dropped"] for h in fleet.health] == [0, 0, 0]
    assert shipped == sum(h["records"] for h in fleet.health) > 0
    stored, binned = stored_rows(fleet)
    print(f"acknowledged {shipped:.0f} records, {stored} in the store's merged windows")
    # None is missing, none merged twice: a summary whose answer was lost when A died is
    # sent again to B under the same Idempotency-Key, and merged once.
    assert stored == shipped
    assert binned == stored  # every merged row is in the merged counts too


def test_one_shift_gives_exactly_one_retraining_call_naming_the_feature(fleet: Fleet) -> None:
    assert fleet.calm, "calm windows were not evaluated before the shift"
    assert all(not r["drift_detected"] for r in fleet.calm), fleet.calm
    assert fleet.calls_before_shift == 0
    calls = fleet.ci.successes()
    assert len(calls) == 1, [c.json() for c in calls]
    assert audit(fleet).count("deduplicated") >= 2  # re-sends reached it, and did nothing
    payload = calls[0].json()
    assert payload["model"] == MODEL and payload["action"] == "retrain"
    assert payload["drift"]["drifted_features"] == ["amount"]
    # Windows are read across processes: the merged summaries' counts of all pods' traffic
    # (path "summary"). A window whose rows and counts disagree when read (a summary merged
    # between the two reads) falls back to its merged sample ("sample"), so not every one.
    paths = [r["path"] for r in evaluations(fleet)]
    assert set(paths) <= {"summary", "sample"} and "summary" in paths, paths


def test_report_link_answers_from_both_drift_replicas(fleet: Fleet) -> None:
    calls = fleet.ci.successes()
    assert calls, "no retraining call, so no report link"
    link = urlsplit(calls[0].json()["report_url"])
    assert link.path == f"/drift/models/{MODEL}/report"
    for drift in fleet.drifts:
        answer = httpx.get(f"{drift.url}{link.path}", timeout=60)
        assert answer.status_code == 200, (drift.name, answer.text[:500])
        assert "amount" in answer.text
