from pathlib import Path

import pytest

from inferwatch.errors import ConfigError
from inferwatch.settings import load_settings


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
