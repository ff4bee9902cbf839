"""Actions carry the drift engine's latest result for their model, looked up at acceptance."""

from collections.abc import Callable
from typing import Any

from inferwatch.alerts.actions._context import DriftContext, summarise
from inferwatch.alerts.actions.targets import ActionRequest
from inferwatch.contracts.handoffs import DRIFT_RESULTS
from inferwatch.contracts.results import DriftEvaluation, FeatureResult, Verdict
from inferwatch.handoffs import Handoffs
from inferwatch.stack import ServedApp, free_port


def evaluation(model: str) -> DriftEvaluation:
    def result(feature: str, method: str, drifted: bool) -> FeatureResult:
        verdict: Verdict = "drift" if drifted else "no_drift"
        return FeatureResult(feature, method, 0.3, 0.001, 0.01, drifted, verdict, 500)

    return DriftEvaluation(
        model=model,
        baseline_version=2,
        path="sample",
        rows=500,
        features=(
            result("amount", "ks", True),
            result("amount", "missing_rate", False),
            result("country", "chi_squared", True),
            result("channel", "chi_squared", False),
        ),
        drift_detected=True,
        verdict="drift",
    )


class Results:
    def __init__(self) -> None:
        self.by_model = {"fraud": evaluation("fraud")}

    def latest(self, model: str) -> DriftEvaluation | None:
        return self.by_model.get(model)


def with_results() -> Handoffs:
    """The hand-offs of a process whose drift part published these results."""
    handoffs = Handoffs()
    handoffs.publish(DRIFT_RESULTS, Results())
    return handoffs


def test_summary_names_drifted_features_and_methods() -> None:
    summary = summarise(evaluation("fraud").to_dict())
    assert summary["drifted_features"] == ["amount", "country"]
    assert summary["drifted_methods"] == {"amount": ["ks"], "country": ["chi_squared"]}
    assert summary["baseline_version"] == 2 and summary["verdict"] == "drift"


def test_in_process_lookup_and_unknown_model() -> None:
    lookup = DriftContext(with_results())
    assert lookup("fraud")["drift"]["drifted_features"] == ["amount", "country"]
    assert lookup("churn") == {}


def test_http_lookup_and_unreachable_drift_service(serve: Callable[[Any], ServedApp]) -> None:
    from fastapi import FastAPI

    drift = FastAPI()

    @drift.get("/drift/models/{model}/results/latest")
    def latest(model: str) -> dict[str, Any]:
        return evaluation(model).to_dict()

    server = serve(drift)
    assert DriftContext(Handoffs(), server.url)("fraud")["drift"]["rows"] == 500
    assert DriftContext(Handoffs(), f"http://127.0.0.1:{free_port()}", timeout=0.5)("fraud") == {}


def test_payload_merges_the_context_into_the_drift_summary() -> None:
    request = ActionRequest(
        model="fraud",
        action="retrain",
        idempotency_key="k",
        alert={"labels": {"alertname": "InferwatchDriftDetected"}, "annotations": {}},
        context=DriftContext(with_results())("fraud"),
    )
    drift = request.payload()["drift"]
    assert drift["alertname"] == "InferwatchDriftDetected"
    assert drift["drifted_features"] == ["amount", "country"]


def test_the_drift_part_hands_its_results_to_the_actions_part_in_one_process(
    settings: Any,
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from inferwatch.app import create_app
    from inferwatch.drift.store import ResultStore

    app = create_app(settings, ["drift", "actions"])
    assert isinstance(app, FastAPI)
    with TestClient(app):
        handoffs: Handoffs = app.state.context.handoffs
        results = handoffs.get(DRIFT_RESULTS)
        assert isinstance(results, ResultStore)
