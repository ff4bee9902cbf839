"""The committed JSON is what the builders produce, and it is a sound Grafana dashboard model."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from inferwatch.cli import app
from inferwatch.dashboards import catalog
from inferwatch.dashboards.queries import concrete, panel_queries

MODELS = catalog.load_generated()


def test_committed_json_is_up_to_date() -> None:
    assert catalog.stale() == [], "run `inferwatch dashboards generate` and commit the result"


def test_check_command_fails_on_a_hand_edit(tmp_path: Path) -> None:
    catalog.generate(tmp_path)
    runner = CliRunner()
    ok = runner.invoke(app, ["dashboards", "generate", "--check", "--directory", str(tmp_path)])
    assert ok.exit_code == 0
    edited = tmp_path / "inferwatch-drift.json"
    edited.write_text(edited.read_text().replace("Model drift", "Model drfit"))
    stale = runner.invoke(app, ["dashboards", "generate", "--check", "--directory", str(tmp_path)])
    assert stale.exit_code == 1
    assert "inferwatch-drift" in stale.stdout


@pytest.mark.parametrize("uid", sorted(MODELS))
def test_dashboard_round_trips_through_the_sdk_model(uid: str) -> None:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    model = MODELS[uid]
    parsed = Dashboard.from_json(model)
    again = json.loads(JSONEncoder(sort_keys=True).encode(parsed))
    assert again["uid"] == uid
    assert len(again["panels"]) == len(model["panels"])


@pytest.mark.parametrize("uid", sorted(MODELS))
def test_conventions(uid: str) -> None:
    model: dict[str, Any] = MODELS[uid]
    assert model["uid"] == uid and model["title"].startswith("inferwatch / ")
    assert "inferwatch" in model["tags"]
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"namespace"} <= set(variables)
    assert any(
        link["type"] == "dashboards" and link["tags"] == ["inferwatch"] for link in model["links"]
    )
    ids = []
    for panel in model["panels"]:
        ids.append(panel["id"])
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], panel["title"]
    assert len(ids) == len(set(ids))
    for query in panel_queries(model):
        assert 'namespace=~"$namespace"' in query.expr, (query.panel, query.expr)
        assert "$" not in concrete(query.expr).replace("$__", ""), query.expr


def test_every_dashboard_but_the_fleet_one_selects_models() -> None:
    for uid, model in MODELS.items():
        names = {v["name"] for v in model["templating"]["list"]}
        assert ("model" in names) == (uid != "inferwatch-gpu-fleet"), uid


def test_drift_dashboard_links_to_the_report() -> None:
    links = [link["url"] for link in MODELS["inferwatch-drift"]["links"]]
    assert "${drift_url}/drift/models/${model}/report" in links


def test_uids_are_unique_and_stable() -> None:
    assert sorted(MODELS) == sorted(
        [
            "inferwatch-gpu-fleet",
            "inferwatch-inference",
            "inferwatch-drift",
            "inferwatch-alerts-actions",
            "inferwatch-slo",
        ]
    )


def test_generate_writes_into_the_checkout_never_the_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    outside = runner.invoke(app, ["dashboards", "generate"])
    assert outside.exit_code == 2
    assert "dashboards/generated" in outside.stderr and "--directory" in outside.stderr
    (tmp_path / "dashboards" / "generated").mkdir(parents=True)
    inside = runner.invoke(app, ["dashboards", "generate", "--json"])
    assert inside.exit_code == 0, inside.output
    written = json.loads(inside.stdout)["written"]
    assert sorted(Path(p).name for p in written) == sorted(f"{uid}.json" for uid in MODELS)
    assert all(Path(p).resolve().is_relative_to(tmp_path.resolve()) for p in written)


def test_list_shows_each_dashboards_query_count() -> None:
    result = CliRunner().invoke(app, ["dashboards", "list"])
    assert result.exit_code == 0
    for uid, model in MODELS.items():
        count = len(panel_queries(model))
        assert count > 0
        assert f"{uid}: {model['title']} ({count} queries)" in result.stdout
