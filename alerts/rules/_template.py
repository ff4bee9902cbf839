"""The subset of Prometheus's Go templates that alert labels and annotations use.

Supported, with Prometheus's meaning (missing labels render as ""):

- text with ``{{ ... }}`` actions, ``{{-``/``-}}`` whitespace trimming, ``{{/* comments */}}``;
- variables ``$labels.NAME``, ``$value``, ``$externalURL``, ``$externalLabels.NAME``, and
  the same as fields (``.Labels.NAME``, ``.Value``, ``.ExternalURL``, ``.ExternalLabels.NAME``);
- string (``"..."``, raw with backquotes) and number literals, parentheses, pipelines (``|``);
- ``{{ if PIPELINE }} ... {{ else if ... }} ... {{ else }} ... {{ end }}``;
- functions ``humanize``, ``humanize1024``, ``humanizePercentage``, ``humanizeDuration``,
  ``printf``, ``toUpper``, ``toLower``, ``title``, ``reReplaceAll``, ``stripPort``,
  ``urlquery``, ``safeHtml``, and comparisons ``eq ne lt le gt ge and or not``.

Not supported (refused at parse time, so a rule file fails to load rather than
render wrongly): ``range``, ``with``, ``define``/``template``, variable
declarations, ``query`` and the other functions that reach back into Prometheus.

Example:
    >>> t = Template("{{ $labels.model }} at {{ $value | humanizePercentage }}")
    >>> t.render(labels={"model": "fraud"}, value=0.1234)
    'fraud at 12.34%'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inferwatch.alerts.rules._template_funcs import FUNCTIONS, TemplateError, go_string, truthy

__all__ = ["Template", "TemplateError"]


_VARIABLES = {
    "$labels": "labels",
    ".Labels": "labels",
    "$externalLabels": "external_labels",
    ".ExternalLabels": "external_labels",
    "$value": "value",
    ".Value": "value",
    "$externalURL": "external_url",
    ".ExternalURL": "external_url",
}

# ---- parsing ----


@dataclass(frozen=True)
class _Operand:
    kind: str  # "var", "lit", "func", "pipe"
    value: Any
    path: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Pipeline:
    commands: tuple[tuple[_Operand, ...], ...]


@dataclass
class _If:
    branches: list[tuple[_Pipeline | None, list[Any]]] = field(default_factory=list)


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*")
    | (?P<raw>`[^`]*`)
    | (?P<num>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+))
    | (?P<var>\$[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*|\.[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)
    | (?P<ident>[A-Za-z_]\w*)
    | (?P<punct>[|()])
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise TemplateError(f"cannot parse {text[pos:]!r} in action {{{{{text}}}}}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], source: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.source = source

    def pipeline(self) -> _Pipeline:
        commands = [self.command()]
        while self.peek() == ("punct", "|"):
            self.pos += 1
            commands.append(self.command())
        return _Pipeline(tuple(commands))

    def command(self) -> tuple[_Operand, ...]:
        operands: list[_Operand] = []
        while self.pos < len(self.tokens) and self.peek()[1] not in ("|", ")"):
            operands.append(self.operand())
        if not operands:
            raise TemplateError(f"empty command in {self.source!r}")
        if len(operands) > 1 and operands[0].kind != "func":
            raise TemplateError(f"{operands[0].value!r} is not a function in {self.source!r}")
        return tuple(operands)

    def operand(self) -> _Operand:
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if kind == "str":
            return _Operand("lit", _unquote(text))
        if kind == "raw":
            return _Operand("lit", text[1:-1])
        if kind == "num":
            return _Operand("lit", float(text))
        if kind == "var":
            return self.variable(text)
        if kind == "ident":
            if text in ("true", "false"):
                return _Operand("lit", text == "true")
            if text not in FUNCTIONS:
                raise TemplateError(
                    f"function {text!r} is not supported (supported: {', '.join(FUNCTIONS)})"
                )
            return _Operand("func", text)
        if text == "(":
            inner = self.pipeline()
            if self.peek() != ("punct", ")"):
                raise TemplateError(f"unclosed '(' in {self.source!r}")
            self.pos += 1
            return _Operand("pipe", inner)
        raise TemplateError(f"unexpected {text!r} in {self.source!r}")

    def variable(self, text: str) -> _Operand:
        for prefix, key in _VARIABLES.items():
            if text == prefix or text.startswith(prefix + "."):
                rest = text[len(prefix) :].strip(".")
                path = tuple(rest.split(".")) if rest else ()
                if key in ("value", "external_url") and path:
                    break
                return _Operand("var", key, path)
        raise TemplateError(
            f"variable {text!r} is not supported (use $labels, $value, $externalURL, "
            "$externalLabels)"
        )

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("", "")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(
        r"\\(.)",
        lambda m: {"n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(m.group(1), m.group(1)),
        body,
    )


class _TreeBuilder:
    """Builds the node tree, tracking open ``if`` blocks."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.root: list[Any] = []
        self.current = self.root
        self.stack: list[tuple[_If, list[Any]]] = []

    def text(self, text: str) -> None:
        if text:
            self.current.append(text)

    def action(self, body: str) -> None:
        if body.startswith("/*") and body.endswith("*/"):
            return
        if ":=" in body or re.match(r"^\$\w+\s*=[^=]", body):
            raise TemplateError(f"variable declarations are not supported: {{{{{body}}}}}")
        tokens = _tokens(body)
        head = tokens[0][1] if tokens else ""
        if head == "if":
            node = _If()
            node.branches.append((_Parser(tokens[1:], body).pipeline(), []))
            self.current.append(node)
            self.stack.append((node, self.current))
            self.current = node.branches[-1][1]
        elif head == "else":
            node = self._open(head)
            rest = tokens[1:]
            condition = _Parser(rest[1:], body).pipeline() if rest and rest[0][1] == "if" else None
            node.branches.append((condition, []))
            self.current = node.branches[-1][1]
        elif head == "end":
            self._open(head)
            self.current = self.stack.pop()[1]
        elif head in ("range", "with", "define", "template", "block", "break", "continue"):
            raise TemplateError(f"'{head}' is not supported in inferwatch templates")
        elif not tokens:
            raise TemplateError(f"empty action in {self.source!r}")
        else:
            self.current.append(_Parser(tokens, body).pipeline())

    def _open(self, keyword: str) -> _If:
        if not self.stack:
            raise TemplateError(f"'{keyword}' without 'if' in {self.source!r}")
        return self.stack[-1][0]

    def finish(self, tail: str) -> list[Any]:
        if self.stack:
            raise TemplateError(f"'if' without 'end' in {self.source!r}")
        if "{{" in tail:
            raise TemplateError(f"unclosed action in {self.source!r}")
        self.text(tail)
        return self.root


def _parse(source: str) -> list[Any]:
    """Text and actions into a tree: str, _Pipeline or _If nodes."""
    tree = _TreeBuilder(source)
    pos = 0
    for match in _ACTION.finditer(source):
        text = source[pos : match.start()]
        tree.text(text.rstrip() if match.group(1) else text)
        pos = match.end()
        if match.group(3):
            trail = re.match(r"\s*", source[pos:])
            pos += trail.end() if trail else 0
        tree.action(match.group(2).strip())
    return tree.finish(source[pos:])


class Template:
    """A compiled label or annotation template; parse errors raise ``TemplateError`` here."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._nodes = _parse(source)

    def render(
        self,
        *,
        labels: Mapping[str, str],
        value: float = 0.0,
        external_url: str = "",
        external_labels: Mapping[str, str] | None = None,
    ) -> str:
        """The text, with Prometheus's ``missingkey=zero`` behaviour for absent labels."""
        data: dict[str, Any] = {
            "labels": labels,
            "value": value,
            "external_url": external_url,
            "external_labels": external_labels or {},
        }
        return "".join(_render(self._nodes, data))


def _render(nodes: list[Any], data: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Pipeline):
            out.append(go_string(_run(node, data)))
        else:
            for condition, body in node.branches:
                if condition is None or truthy(_run(condition, data)):
                    out.extend(_render(body, data))
                    break
    return out


def _run(pipeline: _Pipeline, data: dict[str, Any]) -> Any:
    result: Any = None
    for index, command in enumerate(pipeline.commands):
        head = command[0]
        if head.kind == "func":
            args = [_value(op, data) for op in command[1:]]
            if index > 0:
                args.append(result)
            try:
                result = FUNCTIONS[head.value](*args)
            except Exception as exc:
                raise TemplateError(f"{head.value}: {exc}") from exc
        else:
            if index > 0:
                raise TemplateError("can't give a piped argument to a non-function")
            result = _value(head, data)
    return result


def _value(operand: _Operand, data: dict[str, Any]) -> Any:
    if operand.kind == "lit":
        return operand.value
    if operand.kind == "pipe":
        return _run(operand.value, data)
    if operand.kind == "var":
        value = data[operand.value]
        for key in operand.path:
            value = value.get(key, "") if isinstance(value, Mapping) else ""
        return value
    raise TemplateError(f"function {operand.value} used as a value without being called")
