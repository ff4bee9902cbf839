"""The functions and value formatting of inferwatch's alert templates, as Prometheus has them.

Go prints values its own way (``1`` not ``1.0``, ``%.4g`` in the humanize family); these
reproduce it so annotations read the same whether Prometheus or inferwatch renders them.

Example:
    >>> humanize(1234567), humanize_duration(5400), go_float(0.25)
    ('1.235M', '1h 30m 0s', '0.25')
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from inferwatch.errors import InferwatchError


class TemplateError(InferwatchError):
    """A template uses syntax or a function outside the supported subset, or fails to render."""


# ---- values printed the way Go's fmt prints them ----


def go_string(value: Any) -> str:
    """``fmt.Sprint`` of a template value: floats in Go's shortest form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if value is None:
        return ""
    return str(value)


def go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent only below 1e-4 or from 1e21."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    if 1e-4 <= abs(value) < 1e21:
        text = format(Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = repr(value).partition("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent):+03d}"


def _g4(value: float) -> str:
    """Go's ``%.4g``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(value, ".4g")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TemplateError(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise TemplateError(f"expected a number, got {value!r}") from None


def humanize(value: Any) -> str:
    """Prometheus ``humanize``: SI prefixes, 4 significant digits (``1.235k``)."""
    v = _number(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return _g4(v) + prefix
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _g4(v) + prefix


def humanize1024(value: Any) -> str:
    """Prometheus ``humanize1024``: binary prefixes (``1.5Gi``)."""
    v = _number(value)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return _g4(v) + prefix


def humanize_percentage(value: Any) -> str:
    """Prometheus ``humanizePercentage``: a ratio as a percentage (``0.1234`` -> ``12.34%``)."""
    return _g4(_number(value) * 100) + "%"


def humanize_duration(value: Any) -> str:
    """Prometheus ``humanizeDuration``: seconds as ``1d 2h 3m 4s`` (or ``1.5ms``)."""
    v = _number(value)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


_VERB = re.compile(r"%([-+ #0]*\d*(?:\.\d+)?)([a-zA-Z%])")


def _printf(fmt: Any, *args: Any) -> str:
    """Go ``printf`` for the verbs alerts use: %s %v %d %f %g %e %x %q %%, with width/precision.

    ``%s``/``%v`` print floats the way Go does (``1`` not ``1.0``); ``%q`` quotes.
    """
    text = str(fmt)
    values = list(args)
    out: list[str] = []
    pos = 0
    for match in _VERB.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        flags, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if not values:
            raise TemplateError(f"printf {text!r}: not enough arguments")
        value = values.pop(0)
        if verb in "svq":
            rendered = go_string(value)
            out.append(f'"{rendered}"' if verb == "q" else ("%" + flags + "s") % rendered)
            continue
        try:
            out.append(("%" + flags + verb) % value)
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"printf {text!r}: {exc}") from exc
    out.append(text[pos:])
    return "".join(out)


def _strip_port(host: Any) -> str:
    """``stripPort``: the host of ``host:port`` (``[::1]:9090`` gives ``::1``)."""
    text = str(host)
    if text.startswith("[") and "]" in text:
        return text[1 : text.index("]")]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def truthy(value: Any) -> bool:
    """Go template truth: empty strings, zero and false are false."""
    return bool(value) and value != 0.0


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration,
    "printf": _printf,
    "toUpper": lambda s: str(s).upper(),
    "toLower": lambda s: str(s).lower(),
    "title": lambda s: str(s).title(),
    "reReplaceAll": lambda pattern, repl, text: re.sub(
        pattern, re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", str(repl)), str(text)
    ),
    "stripPort": _strip_port,
    "urlquery": lambda *a: quote_plus("".join(go_string(x) for x in a)),
    "safeHtml": str,
    "eq": lambda a, *bs: any(a == b for b in bs),
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "not": lambda a: not truthy(a),
    "and": lambda *a: next((x for x in a if not truthy(x)), a[-1]),
    "or": lambda *a: next((x for x in a if truthy(x)), a[-1]),
}
