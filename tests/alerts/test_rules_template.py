"""The Go-template subset: Prometheus's variables, functions and missing-label behaviour."""

from __future__ import annotations

import math

import pytest

from inferwatch.alerts.rules._template import Template, TemplateError
from inferwatch.alerts.rules._template_funcs import (
    go_float,
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
)


def render(source: str, value: float = 0.0, **labels: str) -> str:
    return Template(source).render(
        labels=labels,
        value=value,
        external_url="http://iw:8686",
        external_labels={"cluster": "prod"},
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("{{ $labels.model }}", "fraud", id="label"),
        pytest.param("{{$labels.model}}", "fraud", id="no-spaces"),
        pytest.param("{{ .Labels.model }}", "fraud", id="field-form"),
        pytest.param("{{ $labels.missing }}", "", id="missing-label-is-empty"),
        pytest.param("{{ $value }}", "0.25", id="value"),
        pytest.param("{{ .Value }}", "0.25", id="value-field"),
        pytest.param("{{ $externalURL }}/x", "http://iw:8686/x", id="external-url"),
        pytest.param("{{ $externalLabels.cluster }}", "prod", id="external-labels"),
        pytest.param("{{ $value | humanizePercentage }}", "25%", id="pipe"),
        pytest.param('{{ printf "%.1f" $value }}', "0.2", id="printf"),
        pytest.param('{{ printf "%s=%v" "v" $value }}', "v=0.25", id="printf-v"),
        pytest.param(
            '{{ printf "%s is %.1f%% (%q)" $labels.model $value $labels.model }}',
            'fraud is 0.2% ("fraud")',
            id="printf-mixed",
        ),
        pytest.param("{{ $labels.model | toUpper }}", "FRAUD", id="toUpper"),
        pytest.param('{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}', "node1", id="re"),
        pytest.param("{{ $labels.instance | stripPort }}", "node1", id="stripPort"),
        pytest.param('{{ humanize (printf "%f" 1500.0) }}', "1.5k", id="parens"),
        pytest.param('a {{- " b " -}} c', "a b c", id="trim"),
        pytest.param("x{{/* a comment */}}y", "xy", id="comment"),
        pytest.param("{{ if $labels.pod }}pod {{ $labels.pod }}{{ end }}", "", id="if-false"),
        pytest.param(
            "{{ if $labels.model }}m={{ $labels.model }}{{ else }}none{{ end }}", "m=fraud", id="if"
        ),
        pytest.param(
            '{{ if eq $labels.model "ads" }}A{{ else if gt $value 0.1 }}B{{ else }}C{{ end }}',
            "B",
            id="else-if",
        ),
    ],
)
def test_renders_like_prometheus(source: str, expected: str) -> None:
    assert render(source, 0.25, model="fraud", instance="node1:9400") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (0.5, "0.5"),
        (1234567.0, "1234567"),
        (1e21, "1e+21"),
        (1e-05, "1e-05"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-2.5, "-2.5"),
        (0.0, "0"),
    ],
)
def test_value_prints_as_go_does(value: float, expected: str) -> None:
    assert go_float(value) == expected


def test_humanize_functions_match_prometheus() -> None:
    assert humanize(1234567) == "1.235M"
    assert humanize(0.0012) == "1.2m"
    assert humanize(0) == "0"
    assert humanize("2500") == "2.5k"
    assert humanize1024(1536) == "1.5ki"
    assert humanize1024(0.5) == "0.5"
    assert humanize_percentage(0.12345) == "12.35%"
    assert humanize_duration(93784) == "1d 2h 3m 4s"
    assert humanize_duration(5400) == "1h 30m 0s"
    assert humanize_duration(61) == "1m 1s"
    assert humanize_duration(1.5) == "1.5s"
    assert humanize_duration(0.0015) == "1.5ms"
    assert humanize_duration(0) == "0s"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("{{ range $labels }}x{{ end }}", id="range"),
        pytest.param("{{ $x := 1 }}", id="declaration"),
        pytest.param('{{ query "up" }}', id="query-function"),
        pytest.param("{{ $foo }}", id="unknown-variable"),
        pytest.param("{{ if $value }}x", id="unclosed-if"),
        pytest.param("{{ end }}", id="stray-end"),
        pytest.param("{{ $labels.model", id="unclosed-action"),
        pytest.param("{{ $value 1 }}", id="value-with-args"),
    ],
)
def test_unsupported_syntax_is_refused_at_parse_time(source: str) -> None:
    with pytest.raises(TemplateError):
        Template(source)


def test_function_errors_are_template_errors() -> None:
    with pytest.raises(TemplateError, match="humanize"):
        render("{{ humanize $labels.model }}", model="fraud")
    with pytest.raises(TemplateError, match="not enough arguments"):
        render('{{ printf "%s %s" "one" }}')
