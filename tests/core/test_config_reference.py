from pathlib import Path

from inferwatch.config_reference import reference, rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_committed_reference_is_current() -> None:
    assert DOC.read_text() == reference(), (
        "run `inferwatch config reference --out docs/configuration.md`"
    )


def test_every_setting_is_described_and_named_by_its_variable() -> None:
    table = list(rows())
    assert len(table) > 50
    for path, env, _, description in table:
        assert description, f"{path} has no description"
        assert env.strip("`") == "INFERWATCH_" + path.strip("`").upper().replace(".", "__")


def test_nested_models_are_walked() -> None:
    paths = {row[0].strip("`") for row in rows()}
    assert {"server.port", "alerts.rules.query_url", "exporters.gpu.simulate"} <= paths
