"""`inferwatch dashboards push` against a loopback server that checks Grafana's API shapes."""

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from typer.testing import CliRunner

from inferwatch.cli import app
from inferwatch.dashboards import catalog
from inferwatch.dashboards.push import PushError, push
from inferwatch.stack import ServedApp, free_port

TOKEN = "glsa_test"


def fake_grafana(calls: list[tuple[str, str, Any]]) -> FastAPI:
    """Folders and dashboards as Grafana's HTTP API answers them (the parts push uses)."""
    grafana = FastAPI()
    folders: dict[str, dict[str, Any]] = {}
    dashboards: dict[str, dict[str, Any]] = {}

    @grafana.middleware("http")
    async def auth(request: Request, call_next: Any) -> Any:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        body = await request.body()
        calls.append((request.method, request.url.path, json.loads(body) if body else None))
        return await call_next(request)

    @grafana.get("/api/folders/{uid}")
    def get_folder(uid: str) -> JSONResponse:
        if uid not in folders:
            return JSONResponse({"message": "folder not found"}, status_code=404)
        return JSONResponse(folders[uid])

    @grafana.post("/api/folders")
    async def create_folder(request: Request) -> JSONResponse:
        body = await request.json()
        assert set(body) <= {"title", "uid", "parentUid"} and body["title"]
        if body["uid"] in folders:
            return JSONResponse({"message": "a folder with the same uid already exists"}, 409)
        folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "id": len(folders) + 1}
        return JSONResponse(folders[body["uid"]])

    @grafana.post("/api/dashboards/db")
    async def save_dashboard(request: Request) -> JSONResponse:
        body = await request.json()
        model = body["dashboard"]
        if body.get("folderUid") not in folders:
            return JSONResponse({"message": "folder not found"}, status_code=400)
        if "id" in model and model["id"] is not None:
            return JSONResponse({"message": "id must be null for a new dashboard"}, 400)
        if model["uid"] in dashboards and not body.get("overwrite"):
            return JSONResponse({"message": "version-mismatch"}, status_code=412)
        version = dashboards.get(model["uid"], {}).get("version", 0) + 1
        dashboards[model["uid"]] = {"version": version, "model": model}
        return JSONResponse({"status": "success", "uid": model["uid"], "version": version})

    grafana.state.dashboards = dashboards
    return grafana


def test_push_creates_the_folder_once_and_upserts(serve: Callable[[Any], ServedApp]) -> None:
    calls: list[tuple[str, str, Any]] = []
    grafana = fake_grafana(calls)
    server = serve(grafana)
    dashboards = catalog.load_generated()

    first = push(server.url, dashboards, token=TOKEN, folder="inferwatch")
    assert first.folder_created
    assert [c[:2] for c in calls[:2]] == [
        ("GET", "/api/folders/inferwatch"),
        ("POST", "/api/folders"),
    ]
    saves = [c for c in calls if c[1] == "/api/dashboards/db"]
    assert len(saves) == len(dashboards)
    for _, _, body in saves:
        assert body["folderUid"] == "inferwatch" and body["overwrite"] is True
        assert body["dashboard"]["uid"] in dashboards

    calls.clear()
    second = push(server.url, dashboards, token=TOKEN, folder="inferwatch")
    assert not second.folder_created
    assert ("POST", "/api/folders") not in [c[:2] for c in calls]
    assert {d["version"] for d in grafana.state.dashboards.values()} == {2}


def test_push_reports_refusals_without_the_token(serve: Callable[[Any], ServedApp]) -> None:
    server = serve(fake_grafana([]))
    try:
        push(server.url, catalog.load_generated(), token="wrong")
    except PushError as exc:
        assert "401" in str(exc) or "Unauthorized" in str(exc)
        assert "wrong" not in str(exc)
    else:
        raise AssertionError("push with a wrong token must fail")


def test_cli_push_and_unreachable_grafana(serve: Callable[[Any], ServedApp]) -> None:
    runner = CliRunner()
    server = serve(fake_grafana([]))
    env = {"INFERWATCH_DASHBOARDS__GRAFANA_TOKEN": TOKEN}
    ok = runner.invoke(app, ["dashboards", "push", "--url", server.url, "--json"], env=env)
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["dashboards"] == list(catalog.BUILDERS)
    down = runner.invoke(
        app, ["dashboards", "push", "--url", f"http://127.0.0.1:{free_port()}"], env=env
    )
    assert down.exit_code == 2
    assert "Grafana" in down.stderr
    missing = runner.invoke(app, ["dashboards", "push"])
    assert missing.exit_code == 2 and "no Grafana URL" in missing.stderr
