"""Measure a JSON text's nesting depth and element count before anything parses it.

Python's ``json`` recurses in C (``RecursionError`` past ~1000 levels, 16 CPU-seconds
at 10,000) and libarrow's JSON reader recurses until the stack overflows (a 40 KB
body nested 20,000 deep killed the process). This scan is flat: numpy passes over
fixed-size chunks, carrying the string/escape state between them, so its cost is
linear in the body and its memory is one chunk.

It agrees with a real parser on every valid prefix of the text (backslashes and
quotes only mean something inside strings there), and a parser stops at the first
invalid byte, so the depth measured here bounds the depth any parser reaches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK = 1 << 20
_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_OPENS = (ord("["), ord("{"))
_CLOSES = (ord("]"), ord("}"))


@dataclass(frozen=True)
class JsonShape:
    """What a scan found: the deepest nesting and an upper bound of the values."""

    depth: int
    elements: int


class JsonLimitError(ValueError):
    """The text nests deeper, or holds more values, than allowed."""

    def __init__(self, message: str, *, too_deep: bool) -> None:
        super().__init__(message)
        self.too_deep = too_deep


def check_json(body: bytes, *, max_depth: int, max_elements: int) -> JsonShape:
    """Raise ``JsonLimitError`` when ``body`` passes a limit; else its shape.

    Example:
        >>> check_json(b'{"a": [1, 2, "]]"]}', max_depth=8, max_elements=100)
        JsonShape(depth=2, elements=5)
        >>> scan(b'{"a": [1, "[[,\\\\"[", 2]}')  # brackets and commas in strings do not count
        JsonShape(depth=2, elements=5)
        >>> check_json(b"[" * 100, max_depth=64, max_elements=100)
        Traceback (most recent call last):
        ...
        inferwatch.jsonscan.JsonLimitError: JSON nests deeper than 64 levels
    """
    opens = body.count(b"[") + body.count(b"{")
    bound = body.count(b",") + opens + 1
    if opens <= max_depth and bound <= max_elements:
        return JsonShape(depth=opens, elements=bound)  # cheap bounds already suffice
    shape = scan(body, stop_depth=max_depth)
    if shape.depth > max_depth:
        raise JsonLimitError(f"JSON nests deeper than {max_depth} levels", too_deep=True)
    if shape.elements > max_elements:
        raise JsonLimitError(
            f"JSON holds more than {max_elements} values ({shape.elements})", too_deep=False
        )
    return shape


def scan(body: bytes, *, stop_depth: int | None = None) -> JsonShape:
    """Depth and element count of ``body``, outside strings (stops early past ``stop_depth``)."""
    in_string = False
    backslashes = 0  # length of the backslash run ending the previous chunk
    depth = deepest = elements = 0
    view = memoryview(body)
    for offset in range(0, len(body), _CHUNK):
        data = np.frombuffer(view[offset : offset + _CHUNK], dtype=np.uint8)
        inside, in_string, backslashes = _strings(data, in_string, backslashes)
        outside = ~inside
        opens = ((data == _OPENS[0]) | (data == _OPENS[1])) & outside
        closes = ((data == _CLOSES[0]) | (data == _CLOSES[1])) & outside
        running = np.cumsum(opens.astype(np.int32) - closes.astype(np.int32)) + depth
        if len(running):
            deepest = max(deepest, int(running.max()))
            depth = int(running[-1])
        elements += int(np.count_nonzero(opens)) + int(np.count_nonzero((data == _COMMA) & outside))
        if stop_depth is not None and deepest > stop_depth:
            break
    return JsonShape(depth=deepest, elements=elements + 1)


def _strings(data: np.ndarray, in_string: bool, carried: int) -> tuple[np.ndarray, bool, int]:
    """Mask of bytes inside strings, and the state to carry into the next chunk."""
    n = len(data)
    backslash = data == _BACKSLASH
    index = np.arange(n, dtype=np.int64)
    last_plain = np.maximum.accumulate(np.where(backslash, -1, index))
    quotes = np.flatnonzero(data == _QUOTE)
    if len(quotes):
        before = quotes - 1
        prev_plain = np.where(before >= 0, last_plain[np.maximum(before, 0)], -1)
        run = before - prev_plain
        run = np.where(prev_plain < 0, run + carried, run)  # the run started in an earlier chunk
        quotes = quotes[run % 2 == 0]
    toggles = np.zeros(n, dtype=np.int8)
    toggles[quotes] = 1
    inside = (np.cumsum(toggles, dtype=np.int64) + int(in_string)) % 2 == 1
    tail = n - 1 - int(last_plain[-1]) if n else 0
    carried_out = tail + carried if n and last_plain[-1] < 0 else tail
    return inside, (int(in_string) + len(quotes)) % 2 == 1, carried_out
