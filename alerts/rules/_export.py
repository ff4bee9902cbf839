"""Write rule groups for teams that evaluate rules in Prometheus itself.

Two formats: a plain Prometheus rule file (``rule_files:`` in prometheus.yml, or
``promtool``), and a ``monitoring.coreos.com/v1`` ``PrometheusRule`` resource for the
Prometheus Operator. Prometheus's ``$externalURL`` is Prometheus's own URL, not
inferwatch's, so ``report_base_url`` replaces ``{{ $externalURL }}`` in annotations
with the inferwatch URL that serves the drift reports.

Example:
    >>> from inferwatch.alerts.rules.model import parse_rule_text
    >>> groups = parse_rule_text("groups: [{name: g, rules: [{alert: A, expr: up == 0}]}]")
    >>> print(export_groups(groups, "rulefile"), end="")
    groups:
    - name: g
      rules:
      - alert: A
        expr: up == 0
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import yaml

from inferwatch.alerts.rules.model import RuleGroup
from inferwatch.errors import InferwatchError

ExportFormat = Literal["prometheusrule", "rulefile"]
_EXTERNAL_URL = re.compile(r"\{\{-?\s*(?:\$externalURL|\.ExternalURL)\s*-?\}\}")
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class ExportError(InferwatchError):
    """The export options are invalid (e.g. a resource name Kubernetes refuses)."""


def with_report_base_url(groups: Sequence[RuleGroup], base_url: str) -> list[RuleGroup]:
    """The groups with ``{{ $externalURL }}`` in annotations replaced by ``base_url``."""
    base = base_url.rstrip("/")
    out = []
    for group in groups:
        rules = tuple(
            replace(
                rule,
                annotations={
                    k: _EXTERNAL_URL.sub(lambda _: base, v) for k, v in rule.annotations.items()
                },
            )
            for rule in group.rules
        )
        out.append(replace(group, rules=rules))
    return out


def unresolved_external_urls(groups: Sequence[RuleGroup]) -> list[str]:
    """``group/rule`` of every rule whose annotations still hold ``{{ $externalURL }}``."""
    return [
        f"{group.name}/{rule.name}"
        for group in groups
        for rule in group.rules
        if any(_EXTERNAL_URL.search(v) for v in rule.annotations.values())
    ]


def rule_file_document(groups: Sequence[RuleGroup]) -> dict[str, Any]:
    """The rule file as a mapping."""
    return {"groups": [g.to_yaml_dict() for g in groups]}


def prometheus_rule_document(
    groups: Sequence[RuleGroup],
    *,
    name: str = "inferwatch-rules",
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``PrometheusRule`` resource carrying the groups."""
    if len(name) > 253 or not _DNS_NAME.match(name):
        raise ExportError(f"resource name {name!r} is not a valid Kubernetes name (RFC 1123)")
    if namespace is not None and (len(namespace) > 63 or not _DNS_NAME.match(namespace)):
        raise ExportError(f"namespace {namespace!r} is not a valid Kubernetes namespace")
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {
        "app.kubernetes.io/name": "inferwatch",
        "app.kubernetes.io/component": "rules",
        **dict(labels or {}),
    }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": rule_file_document(groups),
    }


def export_groups(
    groups: Sequence[RuleGroup],
    fmt: ExportFormat,
    *,
    name: str = "inferwatch-rules",
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    report_base_url: str | None = None,
) -> str:
    """The groups as YAML text in the requested format."""
    if report_base_url:
        groups = with_report_base_url(groups, report_base_url)
    if fmt == "rulefile":
        doc = rule_file_document(groups)
    elif fmt == "prometheusrule":
        doc = prometheus_rule_document(groups, name=name, namespace=namespace, labels=labels)
    else:
        raise ExportError(f"unknown format {fmt!r}; use prometheusrule or rulefile")
    return yaml.dump(doc, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (PromQL) as ``|`` blocks, so the export stays readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)
