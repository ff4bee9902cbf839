import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from inferwatch.errors import ConfigError
from inferwatch.settings import load_settings, settings_model


def test_defaults_are_loopback_and_embedded(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.server.host == "127.0.0.1"
    assert settings.server.api_token is None
    assert settings.sqlite_path().name == "inferwatch.db"
    assert str(settings.data_dir).startswith(str(tmp_path))  # XDG_DATA_HOME from the fixture


def test_yaml_file_then_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "inferwatch.yaml"
    config.write_text("server:\n  port: 9100\n  public_url: http://iw.example\nlog_level: DEBUG\n")
    assert load_settings(config).server.port == 9100
    monkeypatch.setenv("INFERWATCH_SERVER__PORT", "9200")
    settings = load_settings(config)
    assert settings.server.port == 9200
    assert settings.log_level == "DEBUG"
    assert settings.server.public_url == "http://iw.example"


def test_config_file_from_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("log_format: text\n")
    monkeypatch.setenv("INFERWATCH_CONFIG", str(config))
    assert load_settings().log_format == "text"


def test_public_bind_without_token_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"server \[INFERWATCH_SERVER\].*api_token"):
        load_settings(server={"host": "0.0.0.0"})


def test_public_bind_with_token_or_explicit_opt_out_is_accepted() -> None:
    assert load_settings(server={"host": "0.0.0.0", "api_token": "s3cret"}).server.api_token
    opted_out = load_settings(server={"host": "0.0.0.0", "allow_public_without_token": True})
    assert not opted_out.server.is_loopback


def test_empty_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="api_token is set but empty"):
        load_settings(server={"api_token": "  "})


def test_errors_name_the_setting_and_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_SERVER__PORT", "not-a-port")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "server.port [INFERWATCH_SERVER__PORT]" in str(caught.value)


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("sever:\n  port: 1\n")
    with pytest.raises(ConfigError, match="sever"):
        load_settings(config)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.yaml")


def test_malformed_yaml_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("server: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(config)


def test_only_sqlite_and_psycopg_urls_are_accepted() -> None:
    with pytest.raises(ConfigError, match=r"postgresql:// is not supported; use sqlite:///PATH or"):
        load_settings(database_url="postgresql://db/iw")
    url = "postgresql+psycopg://iw:pw@db:5432/iw"
    assert load_settings(database_url=url).storage_url() == url
    assert load_settings(data_dir="/d").storage_url() == "sqlite:////d/inferwatch.db"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "sever:\n  port: 1\n",
            "sever [INFERWATCH_SEVER]: unknown setting; did you mean 'server'?",
        ),
        (
            "server:\n  prot: 9000\n",
            "server.prot [INFERWATCH_SERVER__PROT]: unknown setting; did you mean 'port'?",
        ),
        (
            "drift:\n  intervall_seconds: 5\n",
            "drift.intervall_seconds "
            "[INFERWATCH_DRIFT__INTERVALL_SECONDS]: unknown setting; "
            "did you mean 'interval_seconds'?",
        ),
        (
            "alerts:\n  rules:\n    query_ur1: http://p\n",
            "alerts.rules.query_ur1 "
            "[INFERWATCH_ALERTS__RULES__QUERY_UR1]: unknown setting; did you mean 'query_url'?",
        ),
        ("drift:\n  policy:\n    alpah: 0.1\n", "drift.policy.alpah"),
    ],
    ids=["top", "server", "drift", "alerts.rules", "drift.policy"],
)
def test_unknown_nested_keys_name_the_path_and_the_closest_name(
    tmp_path: Path, yaml_text: str, expected: str
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert expected in str(caught.value)


def test_unknown_nested_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_SERVER__PROT", "9000")
    with pytest.raises(
        ConfigError,
        match=r"server\.prot \[INFERWATCH_SERVER__PROT\]: unknown "
        r"setting; did you mean 'port'\?",
    ):
        load_settings()


def test_environment_variable_for_an_unknown_section_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INFERWATCH_SERVR__PORT", "9000")
    with pytest.raises(
        ConfigError,
        match=r"INFERWATCH_SERVR__PORT: unknown settings section "
        r"'servr'; did you mean 'server'\?",
    ):
        load_settings()
    monkeypatch.delenv("INFERWATCH_SERVR__PORT")
    monkeypatch.setenv("INFERWATCH_EXTRAS", "dev")  # un-nested names belong to tools around us
    monkeypatch.setenv("INFERWATCH_UPDATE_GOLDEN", "1")
    assert load_settings().server.port
    monkeypatch.setenv("INFERWATCH_LOG_LEVL", "DEBUG")  # ...unless one is a setting misspelt
    with pytest.raises(
        ConfigError,
        match=r"INFERWATCH_LOG_LEVL: unknown setting; did you mean "
        r"'log_level'\?",
    ):
        load_settings()


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def test_every_settings_model_refuses_unknown_keys() -> None:
    seen: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [settings_model()]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for field in model.model_fields.values():
            pending.extend(_models(field.annotation))
    assert len(seen) > 10  # every part's sections and their nested models were walked
    lax = [m.__qualname__ for m in seen if m.model_config.get("extra") != "forbid"]
    assert lax == []
