"""The flat JSON scan agrees with a byte-by-byte state machine and with a real parser."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from inferwatch import jsonscan
from inferwatch.jsonscan import JsonLimitError, JsonShape, check_json, scan


def reference(body: bytes) -> JsonShape:
    """The obvious loop: depth and values outside strings; a quote after an odd run of
    backslashes is no quote (outside strings only invalid JSON has one, where counting
    a bracket more is the safe side)."""
    in_string = escaped = False
    depth = deepest = elements = 0
    for byte in body:
        char = chr(byte)
        was_escaped, escaped = escaped, char == "\\" and not escaped
        if char == '"' and not was_escaped:
            in_string = not in_string
            continue
        if in_string:
            continue
        if char == '"':
            pass
        elif char in "[{":
            depth += 1
            elements += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
        elif char == ",":
            elements += 1
    return JsonShape(depth=deepest, elements=elements + 1)


def parsed_depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{},"\\ab\u00e9'),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet='[]{}",\\k'), inner, max_size=4)
    ),
    max_leaves=40,
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(alphabet='[]{},"\\ x').map(str.encode))
def test_scan_matches_the_byte_loop_on_any_bytes(body: bytes) -> None:
    assert scan(body).depth == reference(body).depth
    if reference(body).depth >= 0:
        assert scan(body).elements == reference(body).elements


@hypothesis_settings(max_examples=300, deadline=None)
@given(_json_values)
def test_scan_depth_is_the_parsers_depth(value: Any) -> None:
    body = json.dumps(value).encode()
    assert scan(body).depth == parsed_depth(value)


def test_state_carries_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonscan, "_CHUNK", 3)
    for body in (b'["\\\\\\"[[", [[1]]]', b'[["ab\\\\"], "\\"]]]]"]', b'{"a\\\\\\\\": [[[]]]}'):
        assert scan(body) == reference(body), body


def test_limits() -> None:
    with pytest.raises(JsonLimitError, match="deeper than 3"):
        check_json(b'{"a": [[[1]]]}', max_depth=3, max_elements=100)
    with pytest.raises(JsonLimitError, match="more than 10 values"):
        check_json(b"[" + b"1," * 20 + b"1]" + b"[" * 70, max_depth=100, max_elements=10)
    assert check_json(b'["[[[[[[[[["]', max_depth=2, max_elements=10).depth == 1
