"""Start-up: what ``inferwatch --help`` and a verb's ``--help`` import (not how long it takes;
bench/startup.py measures that)."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from inferwatch.cli import app
from inferwatch.registry import CLI_GROUPS, SETTINGS_SECTIONS, import_target

PARTS = (
    "inferwatch.collector",
    "inferwatch.drift",
    "inferwatch.alerts",
    "inferwatch.exporters",
    "inferwatch.dashboards",
    "inferwatch.demo",
    "inferwatch.testing",
)
HEAVY = ("pandas", "scipy", "numpy", "fastapi", "pydantic_settings", "sqlalchemy", "uvicorn")


def _modules_after(args: list[str]) -> set[str]:
    """The modules loaded by running ``inferwatch ARGS`` in a fresh interpreter."""
    script = (
        "import json, sys\n"
        "from inferwatch.cli import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        "sys.__stdout__.write('\\n' + json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_root_help_imports_no_part_and_nothing_heavy() -> None:
    loaded = _modules_after(["--help"])
    assert not {m for m in loaded if m.startswith(PARTS)}
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)


@pytest.mark.parametrize(
    "verb",
    [
        ["drift", "check"],
        ["quality", "check"],
        ["collector", "serve"],
        ["config", "check"],
        ["demo"],
    ],
    ids=" ".join,
)
def test_a_verbs_help_loads_no_settings_and_no_data_stack(verb: list[str]) -> None:
    loaded = _modules_after([*verb, "--help"])
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)
    assert "inferwatch.settings" not in loaded


def test_group_help_lists_lazy_parts_with_their_own_help_line() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name, entry in CLI_GROUPS.items():
        # the registry repeats the part's own line (tests/core/test_registry.py checks it)
        assert name in result.stdout
        assert entry.help.split()[0] in result.stdout


def test_a_lazy_part_runs_its_verbs() -> None:
    result = CliRunner().invoke(app, ["drift", "--help"])
    assert result.exit_code == 0
    assert "check" in result.stdout
    assert CliRunner().invoke(app, ["drift", "nope"]).exit_code == 2
    typo = CliRunner().invoke(app, ["drft", "check"])
    assert typo.exit_code == 2 and "Did you mean 'drift'?" in typo.stderr


def test_every_settings_section_is_a_model_of_the_part() -> None:
    for name, target in SETTINGS_SECTIONS.items():
        model = import_target(target)
        assert model.__module__.startswith(f"inferwatch.{name}"), name


def test_loading_settings_imports_no_data_stack() -> None:
    """Verbs that need settings (config check, rules export, ...) do not pay for pandas."""
    script = (
        "import sys\n"
        "from inferwatch.settings import load_settings\n"
        "load_settings()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'scipy', 'fastapi', "
        "'sqlalchemy', 'pyarrow', 'evidently'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
