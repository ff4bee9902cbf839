"""SLO specs in Sloth's ``prometheus/v1`` format, parsed into typed, immutable SLOs.

Teams bring the Sloth files they have: ``version``, ``service``, ``labels`` and a list
of ``slos``, each with an ``objective`` (a percentage), an SLI and ``alerting``. The SLI
is one of Sloth's ``events`` (``error_query`` and ``total_query`` with ``{{.window}}``)
or ``raw`` (``error_ratio_query``), or a ``plugin``; inferwatch provides two plugins
over its own metric names (which the engine adapters also write):

- ``inferwatch/latency``: share of requests slower than ``threshold_seconds`` (a bucket
  boundary of the histogram ``metric``), by ``model``;
- ``inferwatch/availability``: share of failed requests, by ``model``.

Example:
    >>> spec = parse_spec('''
    ... version: prometheus/v1
    ... service: chat
    ... slos:
    ...   - name: latency
    ...     objective: 99
    ...     sli:
    ...       plugin:
    ...         id: inferwatch/latency
    ...         options: {threshold_seconds: 1}
    ...     alerting: {name: ChatLatencySLO}
    ... ''')
    >>> spec.slos[0].error_budget, spec.slos[0].id
    (0.01, 'chat-latency')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from inferwatch.errors import InferwatchError

VERSION = "prometheus/v1"
PLUGINS = ("inferwatch/latency", "inferwatch/availability")
_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9_]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SLO_KEYS = {"name", "objective", "description", "labels", "sli", "alerting"}


class SloSpecError(InferwatchError):
    """An SLO spec is not valid; the message names the file, the SLO and the field."""


@dataclass(frozen=True)
class AlertSpec:
    """One of the two alerts (page or ticket): extra labels and annotations, or disabled."""

    disable: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Slo:
    """One SLO: an error-ratio query per window and the alerting around it."""

    service: str
    name: str
    objective: float
    """Percent, as in the spec (99.9)."""
    error_query: str = ""
    """With ``{{.window}}``; empty for raw SLIs."""
    total_query: str = ""
    error_ratio_query: str = ""
    """With ``{{.window}}``; set for raw SLIs (and built for events and plugins)."""
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    alert_name: str = ""
    alert_labels: Mapping[str, str] = field(default_factory=dict)
    alert_annotations: Mapping[str, str] = field(default_factory=dict)
    page: AlertSpec = field(default_factory=AlertSpec)
    ticket: AlertSpec = field(default_factory=AlertSpec)

    @property
    def id(self) -> str:
        """Sloth's ``sloth_id``: service and SLO name."""
        return f"{self.service}-{self.name}"

    @property
    def error_budget(self) -> float:
        """The allowed error ratio (1 - objective), rounded to hide float noise."""
        return round(1 - self.objective / 100, 12)

    def ratio(self, window: str) -> str:
        """The SLI's error ratio over ``window`` as PromQL."""
        if self.error_ratio_query:
            return _WINDOW.sub(window, self.error_ratio_query)
        errors = _WINDOW.sub(window, self.error_query)
        total = _WINDOW.sub(window, self.total_query)
        return f"(\n  {errors}\n)\n/\n(\n  {total}\n)"


@dataclass(frozen=True)
class SloSpec:
    """A parsed spec file: the service and its SLOs."""

    service: str
    slos: tuple[Slo, ...]
    labels: Mapping[str, str] = field(default_factory=dict)


def parse_spec(text: str, source: str = "<spec>") -> SloSpec:
    """Parse one Sloth ``prometheus/v1`` document; raises ``SloSpecError`` naming the field."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SloSpecError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise SloSpecError(f"{source}: expected a mapping with version, service and slos")
    if doc.get("version") != VERSION:
        raise SloSpecError(
            f"{source}: version must be {VERSION!r} (Sloth's format), got {doc.get('version')!r}"
        )
    service = doc.get("service")
    if not isinstance(service, str) or not _NAME.match(service):
        raise SloSpecError(f"{source}: service must be a name like 'chat-api', got {service!r}")
    labels = _labels(doc.get("labels"), f"{source}: labels")
    raw_slos = doc.get("slos")
    if not isinstance(raw_slos, list) or not raw_slos:
        raise SloSpecError(f"{source}: slos must be a non-empty list")
    slos = tuple(
        _slo(raw, service, labels, f"{source}: slos[{i}]") for i, raw in enumerate(raw_slos)
    )
    names = [s.name for s in slos]
    for name in names:
        if names.count(name) > 1:
            raise SloSpecError(f"{source}: SLO name {name!r} is used twice")
    return SloSpec(service=service, slos=slos, labels=labels)


def _slo(raw: Any, service: str, spec_labels: Mapping[str, str], where: str) -> Slo:
    if not isinstance(raw, dict):
        raise SloSpecError(f"{where}: expected a mapping")
    unknown = set(raw) - _SLO_KEYS
    if unknown:
        raise SloSpecError(f"{where}: unknown keys {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SloSpecError(f"{where}: name must be a name like 'requests-latency', got {name!r}")
    where = f"{where} ({name})"
    objective = raw.get("objective")
    if isinstance(objective, bool) or not isinstance(objective, int | float):
        raise SloSpecError(f"{where}: objective must be a number (percent), got {objective!r}")
    if not 0 < objective < 100:
        raise SloSpecError(f"{where}: objective must be above 0 and below 100, got {objective}")
    queries = _sli(raw.get("sli"), f"{where}: sli")
    alerting = raw.get("alerting") or {}
    if not isinstance(alerting, dict):
        raise SloSpecError(f"{where}: alerting must be a mapping")
    alert_name = alerting.get("name", "")
    if not isinstance(alert_name, str) or (alert_name and not _LABEL.match(alert_name)):
        raise SloSpecError(f"{where}: alerting.name {alert_name!r} is not a valid alert name")
    page = _alert(alerting.get("page_alert"), f"{where}: alerting.page_alert")
    ticket = _alert(alerting.get("ticket_alert"), f"{where}: alerting.ticket_alert")
    if not alert_name and not (page.disable and ticket.disable):
        raise SloSpecError(f"{where}: alerting.name is required unless both alerts are disabled")
    return Slo(
        service=service,
        name=name,
        objective=float(objective),
        description=str(raw.get("description") or ""),
        labels={**spec_labels, **_labels(raw.get("labels"), f"{where}: labels")},
        alert_name=alert_name,
        alert_labels=_labels(alerting.get("labels"), f"{where}: alerting.labels"),
        alert_annotations=_labels(alerting.get("annotations"), f"{where}: alerting.annotations"),
        page=page,
        ticket=ticket,
        **queries,
    )


def _sli(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise SloSpecError(f"{where}: expected exactly one of events, raw or plugin")
    ((kind, body),) = raw.items()
    if not isinstance(body, dict):
        raise SloSpecError(f"{where}.{kind}: expected a mapping")
    if kind == "events":
        error, total = body.get("error_query"), body.get("total_query")
        for key, value in (("error_query", error), ("total_query", total)):
            _query(value, f"{where}.events.{key}")
        return {"error_query": str(error).strip(), "total_query": str(total).strip()}
    if kind == "raw":
        ratio = body.get("error_ratio_query")
        _query(ratio, f"{where}.raw.error_ratio_query")
        return {"error_ratio_query": str(ratio).strip()}
    if kind == "plugin":
        return _plugin(body, f"{where}.plugin")
    raise SloSpecError(f"{where}: unknown SLI kind {kind!r}; use events, raw or plugin")


def _query(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise SloSpecError(f"{where} is required")
    if not _WINDOW.search(value):
        raise SloSpecError(f"{where} must use {{{{.window}}}} as its range, as Sloth's do")


def _plugin(body: Mapping[str, Any], where: str) -> dict[str, str]:
    plugin_id = body.get("id")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise SloSpecError(f"{where}.options must be a mapping")
    by = str(options.get("by", "model"))
    if not all(_LABEL.match(label.strip()) for label in by.split(",")):
        raise SloSpecError(f"{where}.options.by must be label names, got {by!r}")
    selector = str(options.get("selector", "")).strip()

    def rate(metric: str, extra: str = "") -> str:
        matchers = ", ".join(m for m in (selector, extra) if m)
        series = f"{metric}{{{matchers}}}" if matchers else metric
        return f"sum by ({by}) (rate({series}[{{{{.window}}}}]))"

    if plugin_id == "inferwatch/latency":
        threshold = options.get("threshold_seconds")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
            raise SloSpecError(f"{where}.options.threshold_seconds must be a positive number")
        metric = str(options.get("metric", "gen_ai_server_request_duration_seconds"))
        total = rate(f"{metric}_count")
        good = rate(f"{metric}_bucket", f'le=~"{_le_pattern(float(threshold))}"')
        return {"error_query": f"({total} - {good})", "total_query": total}
    if plugin_id == "inferwatch/availability":
        total_metric = str(
            options.get("total_metric", "http_server_request_duration_seconds_count")
        )
        error_metric = str(options.get("error_metric", total_metric))
        error_selector = str(options.get("error_selector", 'http_response_status_code=~"5.."'))
        if error_metric != total_metric and "error_selector" not in options:
            error_selector = ""
        total = rate(total_metric)
        # No failures is a ratio of 0, not an absent series.
        errors = f"({rate(error_metric, error_selector)} or {total} * 0)"
        return {"error_query": errors, "total_query": total}
    raise SloSpecError(
        f"{where}: plugin {plugin_id!r} is not available; inferwatch provides "
        f"{', '.join(PLUGINS)} (or use events or raw SLIs)"
    )


def _le_pattern(threshold: float) -> str:
    """The ``le`` values a bucket boundary may be written as (``1``, ``1.0``; ``0.5``)."""
    text = repr(threshold)
    if text.endswith(".0"):
        return f"{text[:-2]}|{text[:-2]}\\\\.0"
    return text.replace(".", "\\\\.")


def _alert(raw: Any, where: str) -> AlertSpec:
    if raw is None:
        return AlertSpec()
    if not isinstance(raw, dict):
        raise SloSpecError(f"{where}: expected a mapping")
    disable = raw.get("disable", False)
    if not isinstance(disable, bool):
        raise SloSpecError(f"{where}.disable must be true or false")
    return AlertSpec(
        disable=disable,
        labels=_labels(raw.get("labels"), f"{where}.labels"),
        annotations=_labels(raw.get("annotations"), f"{where}.annotations"),
    )


def _labels(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SloSpecError(f"{where}: expected a mapping of names to strings")
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _LABEL.match(key):
            raise SloSpecError(f"{where}: {key!r} is not a valid label name")
        if isinstance(value, dict | list) or value is None:
            raise SloSpecError(f"{where}.{key} must be a string")
        out[key] = str(value)
    return out
