import json
from pathlib import Path

from typer.testing import CliRunner

from inferwatch import __version__
from inferwatch.cli import app

runner = CliRunner()


def test_version_json() -> None:
    result = runner.invoke(app, ["version", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["inferwatch"] == __version__


def test_every_group_has_help() -> None:
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for group in ("collector", "exporter", "drift", "rules", "actions", "dashboards", "config"):
        assert group in top.stdout
        assert runner.invoke(app, [group, "--help"]).exit_code == 0, group


def test_config_check_reports_bad_settings_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("server:\n  host: 0.0.0.0\n")
    result = runner.invoke(app, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2
    assert "api_token" in result.stderr


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("server:\n  api_token: hunter2\n")
    result = runner.invoke(app, ["config", "show", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["server"]["api_token"] == "**********"
    assert "hunter2" not in result.stdout


def test_config_check_refuses_a_nested_typo_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("drift:\n  intervall_seconds: 5\n")
    result = runner.invoke(app, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2
    assert "drift.intervall_seconds" in result.stderr
    assert "did you mean 'interval_seconds'?" in result.stderr


def test_log_format_flag_forces_either_format() -> None:
    shown = runner.invoke(app, ["--log-format", "text", "config", "show", "--json"])
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["log_format"] == "text"
    assert json.loads(runner.invoke(app, ["config", "show", "--json"]).stdout)["log_format"] == (
        "auto"
    )
    bad = runner.invoke(app, ["--log-format", "xml", "config", "check"])
    assert bad.exit_code == 2 and "log_format" in bad.stderr
