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
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


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
    """Depth and element count of ``body``, outside strings (stops early past ``stop_depth``).

    Per chunk, one table lookup classifies every byte; everything after works on the
    few bytes that matter (quotes, backslashes, brackets, commas).
    """
    in_string = False
    run_end = -2  # byte position where the backslash run ending the last chunk ended
    run_length = 0
    depth = deepest = elements = 0
    view = memoryview(body)
    for offset in range(0, len(body), _CHUNK):
        data = np.frombuffer(view[offset : offset + _CHUNK], dtype=np.uint8)
        codes = _CLASSES[data]
        where = np.flatnonzero(codes)
        kinds = codes[where]
        positions = where + offset
        quote = kinds == _Q
        if run_length or np.any(kinds == _B):
            quote, run_end, run_length = _real_quotes(positions, kinds, run_end, run_length)
        parity = (np.cumsum(quote, dtype=np.int64) + int(in_string)) & 1
        outside = (parity == 0) & ~quote  # a closing quote has even parity but is no bracket
        opens = (kinds == _O) & outside
        step = opens.astype(np.int32) - ((kinds == _C) & outside).astype(np.int32)
        if len(step):
            running = np.cumsum(step) + depth
            deepest = max(deepest, int(running.max()))
            depth = int(running[-1])
        elements += int(np.count_nonzero(opens)) + int(np.count_nonzero((kinds == _K) & outside))
        in_string = (int(in_string) + int(np.count_nonzero(quote))) % 2 == 1
        if stop_depth is not None and deepest > stop_depth:
            break
    return JsonShape(depth=deepest, elements=elements + 1)


_O, _C, _K, _Q, _B = 1, 2, 3, 4, 5
_CLASSES = np.zeros(256, dtype=np.uint8)
for _char, _code in ((b"[", _O), (b"{", _O), (b"]", _C), (b"}", _C), (b",", _K)):
    _CLASSES[_char[0]] = _code
_CLASSES[_QUOTE], _CLASSES[_BACKSLASH] = _Q, _B


def _real_quotes(
    positions: np.ndarray, kinds: np.ndarray, run_end: int, run_length: int
) -> tuple[np.ndarray, int, int]:
    """Quotes not escaped (odd run of backslashes right before), and the run ending the chunk."""
    backslash = kinds == _B
    n = len(kinds)
    index = np.arange(n, dtype=np.int64)
    # a backslash continues a run when the entry before it is a backslash one byte earlier
    joined = np.zeros(n, dtype=bool)
    if n > 1:
        joined[1:] = backslash[1:] & backslash[:-1] & (np.diff(positions) == 1)
    starts = np.where(backslash & ~joined, index, -1)
    start_of_run = np.maximum.accumulate(starts) if n else starts
    lengths = np.where(backslash, index - start_of_run + 1, 0)
    if n and backslash[0] and run_length and positions[0] == run_end + 1:
        first_run = backslash & (start_of_run == 0)
        lengths = np.where(first_run, lengths + run_length, lengths)
    quote = kinds == _Q
    before = np.zeros(n, dtype=np.int64)
    if n > 1:
        adjacent = backslash[:-1] & (np.diff(positions) == 1)
        before[1:] = np.where(adjacent, lengths[:-1], 0)
    if n and quote[0] and run_length and positions[0] == run_end + 1:
        before[0] = run_length
    real = quote & (before % 2 == 0)
    if n and backslash[-1]:
        return real, int(positions[-1]), int(lengths[-1])
    return real, -2, 0
