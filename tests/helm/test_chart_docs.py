"""Every value is documented (helm-docs ``# --``), listed in the README, and in the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

CHART_DIR = Path(__file__).resolve().parents[2] / "helm" / "inferwatch"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-/\"]+):(?: |$)")


def documented_keys(text: str) -> dict[str, bool]:
    """Dotted path of every mapping key in values.yaml -> whether a ``# --`` comment heads it.

    Keys inside list items (default tolerations, matchers) belong to their list's value
    and are not keys of their own.
    """
    keys: dict[str, bool] = {}
    stack: list[tuple[int, str]] = []
    comment: list[str] = []
    list_indent: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
            continue
        if not stripped:
            comment = []
            continue
        indent = len(line) - len(line.lstrip(" "))
        if list_indent is not None and indent >= list_indent:
            comment = []
            continue
        list_indent = None
        if stripped.startswith("- "):
            list_indent = indent
            comment = []
            continue
        match = KEY.match(line)
        assert match, f"cannot parse values.yaml line: {line!r}"
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [match["key"].strip('"')])
        keys[path] = any(c.startswith("# --") for c in comment)
        stack.append((indent, match["key"].strip('"')))
        comment = []
    return keys


def _ancestors(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def chart_values(keys: dict[str, bool]) -> set[str]:
    """The values helm-docs lists: keys with a ``# --`` comment and no commented ancestor
    (the keys inside such a map, e.g. podSecurityContext.runAsUser, are its default data)."""
    return {k for k, doc in keys.items() if doc and not any(keys[a] for a in _ancestors(k))}


def test_every_value_has_a_helm_docs_comment() -> None:
    keys = documented_keys((CHART_DIR / "values.yaml").read_text())
    assert len(chart_values(keys)) > 70
    undocumented = []
    for key, doc in keys.items():
        is_leaf = not any(other.startswith(key + ".") for other in keys)
        if is_leaf and not doc and not any(keys[a] for a in _ancestors(key)):
            undocumented.append(key)
    assert undocumented == []


def test_the_parser_sees_every_key_yaml_sees() -> None:
    text = (CHART_DIR / "values.yaml").read_text()
    keys = documented_keys(text)

    def paths(node: Any, prefix: str = "") -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for key, child in node.items():
                found |= {f"{prefix}{key}"} | paths(child, f"{prefix}{key}.")
        return found

    assert paths(yaml.safe_load(text)) == set(keys)


def test_readme_lists_every_value() -> None:
    keys = documented_keys((CHART_DIR / "values.yaml").read_text())
    readme = (CHART_DIR / "README.md").read_text().split("\n## Values\n", 1)[1]
    listed = set(re.findall(r"^\| ([A-Za-z0-9_.\-]+) \|", readme, flags=re.MULTILINE)) - {"Key"}
    assert sorted(chart_values(keys) - listed) == []
    assert sorted(listed - chart_values(keys)) == []


def test_schema_knows_every_value_and_requires_only_present_ones() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())

    def walk(node: dict[str, Any], value: Any, path: str) -> None:
        if node.get("type") != "object" or not isinstance(value, dict):
            return
        properties = node.get("properties")
        if properties is None:
            return
        for required in node.get("required", []):
            assert required in value, f"{path}{required} is required but has no default"
        for key, child in value.items():
            assert key in properties, f"{path}{key} is missing from values.schema.json"
            walk(properties[key], child, f"{path}{key}.")

    walk(schema, values, "")
    assert schema["properties"]["logLevel"]["enum"] == ["DEBUG", "INFO", "WARNING", "ERROR"]
