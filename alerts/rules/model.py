"""Prometheus rule files, parsed and validated into typed, immutable groups.

The format is Prometheus's own (``groups: [{name, interval, rules: [...]}]``) so
that ``promtool check rules`` accepts the same files. Only alerting rules are
evaluated by inferwatch; a recording rule is refused with a message saying so
(run recording rules in Prometheus itself).

Example:
    >>> groups = parse_rule_text('''
    ... groups:
    ...   - name: demo
    ...     interval: 30s
    ...     rules:
    ...       - alert: Down
    ...         expr: up == 0
    ...         for: 1m
    ... ''')
    >>> groups[0].rules[0].hold_seconds, groups[0].interval_seconds
    (60.0, 30.0)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from inferwatch.alerts.rules._template import Template, TemplateError
from inferwatch.errors import InferwatchError

ACTIONS = ("scale", "retrain", "none")
SEVERITIES = ("critical", "warning", "info")
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")

_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_DURATION_UNITS = (365 * 86400.0, 7 * 86400.0, 86400.0, 3600.0, 60.0, 1.0, 0.001)
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_GROUP_KEYS = {"name", "interval", "limit", "rules"}
_RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


class RuleFileError(InferwatchError):
    """A rule file is unreadable or not a valid alerting-rule file; the message says where."""


def parse_duration(text: str, where: str = "duration") -> float:
    """A Prometheus duration (``1h30m``, ``500ms``, ``0``) in seconds.

    Example:
        >>> parse_duration("1h30m"), parse_duration("500ms"), parse_duration("0s")
        (5400.0, 0.5, 0.0)
    """
    text = str(text).strip()
    if text == "0":
        return 0.0
    match = _DURATION.match(text)
    if not text or match is None:
        raise RuleFileError(f"{where}: {text!r} is not a Prometheus duration like 30s, 5m, 1h30m")
    return sum(
        float(n) * unit for n, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if n
    )


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for ``seconds`` (inverse of ``parse_duration``).

    Example:
        >>> format_duration(5400), format_duration(0.5), format_duration(0)
        ('1h30m', '500ms', '0s')
    """
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    out = []
    for unit, suffix in ((3_600_000, "h"), (60_000, "m"), (1000, "s"), (1, "ms")):
        count, millis = divmod(millis, unit)
        if count:
            out.append(f"{count}{suffix}")
    return "".join(out)


@dataclass(frozen=True)
class AlertingRule:
    """One ``alert:`` rule: its PromQL, hold time, keep-firing time and templates."""

    name: str
    expr: str
    hold_seconds: float = 0.0
    keep_firing_seconds: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def label_templates(self) -> dict[str, Template]:
        """The rule's labels, each compiled as a template (Prometheus templates labels too)."""
        return {k: Template(v) for k, v in self.labels.items()}

    def annotation_templates(self) -> dict[str, Template]:
        """The rule's annotations, compiled."""
        return {k: Template(v) for k, v in self.annotations.items()}

    def to_yaml_dict(self) -> dict[str, Any]:
        """This rule in rule-file form (for export)."""
        out: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.hold_seconds:
            out["for"] = format_duration(self.hold_seconds)
        if self.keep_firing_seconds:
            out["keep_firing_for"] = format_duration(self.keep_firing_seconds)
        if self.labels:
            out["labels"] = dict(self.labels)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True)
class RuleGroup:
    """A named group of rules evaluated together every ``interval_seconds``."""

    name: str
    rules: tuple[AlertingRule, ...]
    interval_seconds: float | None = None
    """None: the service's default evaluation interval."""
    limit: int = 0
    source: str = ""

    def to_yaml_dict(self) -> dict[str, Any]:
        """This group in rule-file form (for export)."""
        out: dict[str, Any] = {"name": self.name}
        if self.interval_seconds is not None:
            out["interval"] = format_duration(self.interval_seconds)
        if self.limit:
            out["limit"] = self.limit
        out["rules"] = [r.to_yaml_dict() for r in self.rules]
        return out


def parse_rule_text(text: str, source: str = "<text>") -> list[RuleGroup]:
    """Parse one rule file's YAML; raises ``RuleFileError`` naming the first problem."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise RuleFileError(f"{source}: expected a mapping with a 'groups' list")
    unknown = set(doc) - {"groups"}
    if unknown:
        raise RuleFileError(f"{source}: unknown top-level keys {sorted(unknown)}")
    groups = [
        _parse_group(g, f"{source}: groups[{i}]", source) for i, g in enumerate(doc["groups"])
    ]
    _check_unique((g.name for g in groups), f"{source}: group name")
    return groups


def load_rule_files(paths: Iterable[Path]) -> list[RuleGroup]:
    """Parse several rule files; group names must be unique across all of them."""
    groups: list[RuleGroup] = []
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise RuleFileError(f"cannot read rule file {path}: {exc}") from exc
        groups.extend(parse_rule_text(text, str(path)))
    _check_unique((g.name for g in groups), "group name")
    return groups


def default_rule_files() -> list[Path]:
    """The rule files shipped in ``inferwatch.alerts`` (``alerts/rules/*.yaml``)."""
    folder = resources.files("inferwatch.alerts").joinpath("rules")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml"))


def engine_rule_file() -> Path:
    """The engine adapters' recording rules, shipped for Prometheus itself
    (``alerts/recording/engines.yaml``); inferwatch's rules service does not load them.
    The GPU cost rules beside it are ``inferwatch.alerts.gpu_cost.cost_rule_file``."""
    return Path(str(resources.files("inferwatch.alerts").joinpath("recording/engines.yaml")))


def convention_problems(groups: Sequence[RuleGroup]) -> list[str]:
    """Where rules break inferwatch's alert conventions (labels and annotations).

    Every rule needs labels ``severity`` (critical|warning|info), ``action``
    (scale|retrain|none) and ``model`` (a template is fine), and annotations
    ``summary``, ``description``, ``runbook_url``; ``retrain`` rules also need
    ``report_url``.
    """
    problems = []
    for group in groups:
        for rule in group.rules:
            where = f"{group.name}/{rule.name}"
            if rule.labels.get("severity") not in SEVERITIES:
                problems.append(f"{where}: label severity must be one of {SEVERITIES}")
            if rule.labels.get("action") not in ACTIONS:
                problems.append(f"{where}: label action must be one of {ACTIONS}")
            if "model" not in rule.labels:
                problems.append(f"{where}: label model is missing")
            for key in REQUIRED_ANNOTATIONS:
                if not rule.annotations.get(key):
                    problems.append(f"{where}: annotation {key} is missing")
            if rule.labels.get("action") == "retrain" and not rule.annotations.get("report_url"):
                problems.append(f"{where}: retrain rules need annotation report_url")
    return problems


def _parse_group(raw: Any, where: str, source: str) -> RuleGroup:
    if not isinstance(raw, dict):
        raise RuleFileError(f"{where}: expected a mapping")
    unknown = set(raw) - _GROUP_KEYS
    if unknown:
        raise RuleFileError(f"{where}: unknown keys {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise RuleFileError(f"{where}: 'name' is required")
    where = f"{where} ({name})"
    interval = None
    if raw.get("interval") is not None:
        interval = parse_duration(raw["interval"], f"{where}: interval")
        if interval <= 0:
            raise RuleFileError(f"{where}: interval must be positive")
    limit = raw.get("limit", 0)
    if not isinstance(limit, int) or limit < 0:
        raise RuleFileError(f"{where}: limit must be a non-negative integer")
    rules_raw = raw.get("rules") or []
    if not isinstance(rules_raw, list):
        raise RuleFileError(f"{where}: 'rules' must be a list")
    rules = tuple(_parse_rule(r, f"{where}: rules[{i}]") for i, r in enumerate(rules_raw))
    return RuleGroup(name=name, rules=rules, interval_seconds=interval, limit=limit, source=source)


def _parse_rule(raw: Any, where: str) -> AlertingRule:
    if not isinstance(raw, dict):
        raise RuleFileError(f"{where}: expected a mapping")
    if "record" in raw:
        raise RuleFileError(
            f"{where}: recording rule {raw['record']!r}: inferwatch evaluates alerting rules "
            "only; run recording rules in Prometheus"
        )
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RuleFileError(f"{where}: unknown keys {sorted(unknown)}")
    name = raw.get("alert")
    if not isinstance(name, str) or not _LABEL_NAME.match(name):
        raise RuleFileError(f"{where}: 'alert' must be a valid name, got {name!r}")
    where = f"{where} ({name})"
    expr = raw.get("expr")
    if not isinstance(expr, str | int | float) or not str(expr).strip():
        raise RuleFileError(f"{where}: 'expr' is required")
    labels = _string_map(raw.get("labels"), f"{where}: labels")
    annotations = _string_map(raw.get("annotations"), f"{where}: annotations")
    rule = AlertingRule(
        name=name,
        expr=str(expr).strip(),
        hold_seconds=parse_duration(raw.get("for", "0"), f"{where}: for"),
        keep_firing_seconds=parse_duration(
            raw.get("keep_firing_for", "0"), f"{where}: keep_firing_for"
        ),
        labels=labels,
        annotations=annotations,
    )
    try:
        rule.label_templates()
        rule.annotation_templates()
    except TemplateError as exc:
        raise RuleFileError(f"{where}: {exc}") from exc
    return rule


def _string_map(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RuleFileError(f"{where}: expected a mapping of names to strings")
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _LABEL_NAME.match(key):
            raise RuleFileError(f"{where}: {key!r} is not a valid label name")
        if not isinstance(value, str | int | float | bool):
            raise RuleFileError(f"{where}: {key} must be a string")
        out[key] = str(value)
    return out


def _check_unique(names: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise RuleFileError(f"{what} {name!r} is used twice")
        seen.add(name)
