import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from inferwatch.app import WriteAuth, create_app
from inferwatch.errors import ClientError
from inferwatch.logs import JsonFormatter
from inferwatch.parts import BasePart, Part, PartContext
from inferwatch.settings import Settings, load_settings


class NotesPart(BasePart):
    """A tiny part with a table, a read and a protected write."""

    name = "notes"

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        self.started = self.stopped = 0
        self.reason: str | None = None

    def migrations(self) -> Sequence[Path]:
        return [Path(__file__).parent / "notes_migrations"]

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/notes")

        @router.post("", status_code=201)
        def add(body: str, _: WriteAuth) -> dict[str, str]:
            if not body.strip():
                raise ClientError("body must not be blank")
            with self.context.storage.transaction() as tx:
                tx.execute("INSERT INTO notes VALUES (?)", (body,))
            return {"body": body}

        @router.get("")
        def list_notes() -> list[str]:
            return [row[0] for row in self.context.storage.query("SELECT body FROM notes")]

        return router

    async def start(self) -> None:
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1

    def ready(self) -> str | None:
        return self.reason


def build(settings: Settings) -> tuple[TestClient, NotesPart]:
    holder: list[NotesPart] = []

    def builder(context: PartContext) -> Part:
        holder.append(NotesPart(context))
        return holder[0]

    app = create_app(settings, ["notes"], builders={"notes": builder})
    return TestClient(app), holder[0]


def test_probes_metrics_and_lifecycle(settings: Settings) -> None:
    client, part = build(settings)
    with client:
        assert part.started == 1
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready", "parts": ["notes"]}
        part.reason = "warming up"
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["reasons"] == {"notes": "warming up"}
        client.post("/notes", params={"body": "hi"})
        answer = client.get("/metrics", follow_redirects=False)
        assert answer.status_code == 200
        metrics = answer.text
        assert 'inferwatch_part_up{part="notes"} 1.0' in metrics
        assert 'route="/notes",status="201"' in metrics
        assert "inferwatch_build_info" in metrics
        assert "/notes" in client.get("/openapi.json").json()["paths"]
    assert part.stopped == 1


def test_writes_are_open_without_a_token(settings: Settings) -> None:
    client, _ = build(settings)
    with client:
        assert client.post("/notes", params={"body": "a"}).status_code == 201
        assert client.get("/notes").json() == ["a"]


def test_writes_need_the_token_when_one_is_set(tmp_path: object) -> None:
    settings = load_settings(server={"api_token": "t0ken"}, database_url="sqlite:///:memory:")
    client, _ = build(settings)
    with client:
        missing = client.post("/notes", params={"body": "a"})
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = client.post("/notes", params={"body": "a"}, headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401
        ok = client.post("/notes", params={"body": "a"}, headers={"Authorization": "Bearer t0ken"})
        assert ok.status_code == 201
        assert client.get("/notes").status_code == 401  # reads need a token too (issue 14)
        assert client.get("/notes", headers={"Authorization": "Bearer t0ken"}).status_code == 200


def test_client_errors_answer_4xx_with_the_reason(settings: Settings) -> None:
    client, _ = build(settings)
    with client:
        answer = client.post("/notes", params={"body": " "})
        assert answer.status_code == 400
        assert answer.json() == {"detail": "body must not be blank"}
        assert client.post("/notes").status_code == 422  # missing parameter


def test_unknown_part_is_a_config_error(settings: Settings) -> None:
    from inferwatch.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown part 'nope'"):
        create_app(settings, ["nope"])


def test_json_log_lines_have_fixed_keys() -> None:
    record = logging.LogRecord(
        "inferwatch.x", logging.INFO, __file__, 1, "hello %s", ("you",), None
    )
    record.fields = {"model": "fraud"}
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello you"
    assert line["level"] == "info"
    assert line["model"] == "fraud"
    assert line["ts"].endswith("+00:00")
