"""The example Alertmanager configuration, checked by amtool."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack

CONFIG = Path(str(resources.files("inferwatch.alerts").joinpath("examples/alertmanager.yml")))


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("amtool")
    assert binary, "amtool is not on PATH; run scripts/setup.sh"
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False, timeout=60)


def test_amtool_accepts_the_example_config() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        pytest.param(
            ["action=retrain", "severity=warning"], "inferwatch-actions,oncall", id="retrain"
        ),
        pytest.param(
            ["action=scale", "severity=critical"], "inferwatch-actions,oncall-critical", id="scale"
        ),
        pytest.param(["action=none", "severity=critical"], "oncall-critical", id="none-critical"),
        pytest.param(["action=none", "severity=warning"], "oncall", id="none-warning"),
        pytest.param(["severity=info"], "oncall", id="no-action"),
    ],
)
def test_routes_send_action_alerts_to_the_inferwatch_webhook(
    labels: list[str], receivers: str
) -> None:
    result = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"--verify.receivers={receivers}",
        *labels,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers


def test_webhook_uses_bearer_auth_from_a_file() -> None:
    import yaml

    config = yaml.safe_load(CONFIG.read_text())
    (receiver,) = [r for r in config["receivers"] if r["name"] == "inferwatch-actions"]
    (webhook,) = receiver["webhook_configs"]
    assert webhook["url"].endswith("/actions/alertmanager")
    assert webhook["send_resolved"] is True
    auth = webhook["http_config"]["authorization"]
    assert auth["type"] == "Bearer" and "credentials_file" in auth and "credentials" not in auth
