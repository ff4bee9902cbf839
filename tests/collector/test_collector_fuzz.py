"""Fuzz the collector's OpenAPI with schemathesis over real loopback HTTP: never a 5xx.

Schemathesis generates the cases; they are sent with httpx because schemathesis'
own requests transport does not work with the installed urllib3 build. The path's
``model`` is pinned to the model that has a baseline half of the time, so the
generated bodies reach validation instead of stopping at 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from inferwatch.app import create_app
from inferwatch.settings import Settings, load_settings
from inferwatch.stack import ServedApp


def _ok(result: Any) -> Any:
    """The operation of a schemathesis ``Ok`` result (an invalid schema fails loudly)."""
    return result.ok()


def _openapi() -> dict[str, Any]:
    app = create_app(load_settings(database_url="sqlite:///:memory:"), ["collector"])
    try:
        return app.openapi()
    finally:
        app.state.storage.close()


_SCHEMA = schemathesis.openapi.from_dict(_openapi())
OPERATIONS: list[Any] = [
    op for op in (_ok(result) for result in _SCHEMA.get_all_operations()) if "/collector" in op.path
]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedApp]:
    import json as _json

    from inferwatch.drift.baseline import infer_baseline

    from .conftest import reference_frame

    root = tmp_path_factory.mktemp("fuzz")
    (root / "b").mkdir()
    baseline = infer_baseline("churn", reference_frame(), bins=5, top_k=2)
    (root / "b" / "churn.json").write_text(_json.dumps(baseline.to_dict()))
    settings: Settings = load_settings(
        data_dir=root / "data", collector={"baseline_dir": str(root / "b"), "max_body_bytes": 65536}
    )
    server = ServedApp(create_app(settings, ["collector"])).start()
    yield server
    server.stop()


def _send(base_url: str, case: Any) -> httpx.Response | None:
    kwargs = case.as_transport_kwargs(base_url=base_url)
    content = kwargs.get("data")
    if "json" in kwargs:
        content = json.dumps(kwargs["json"]).encode()
    try:
        return httpx.request(
            kwargs["method"],
            kwargs["url"],
            headers=kwargs.get("headers"),
            params=kwargs.get("params"),
            content=content,
            timeout=30,
        )
    except httpx.LocalProtocolError:
        return None  # the generated request cannot even be sent (e.g. illegal header)


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_5xx(served: ServedApp, operation: Any) -> None:
    statuses: list[int] = []
    pin: Callable[[Any, bool], None] = _pin_model

    @hypothesis_settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), known_model=st.booleans())
    def check(case: Any, known_model: bool) -> None:
        pin(case, known_model)
        response = _send(served.url, case)
        if response is None:
            return
        statuses.append(response.status_code)
        assert response.status_code < 500, (case.path_parameters, case.body, response.text)

    check()
    assert statuses, "no request could be sent"


def _pin_model(case: Any, known_model: bool) -> None:
    if known_model and case.path_parameters and "model" in case.path_parameters:
        case.path_parameters["model"] = "churn"


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=2),
    st.dictionaries(st.text(max_size=3), _SCALARS, max_size=2),
)
_NAMES = st.sampled_from(["age", "income", "plan", "vip", "other"])


@pytest.mark.slow
@hypothesis_settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@given(
    body=st.one_of(
        st.dictionaries(_NAMES, st.lists(_VALUES, max_size=4), max_size=4).map(
            lambda columns: {"columns": columns}
        ),
        st.lists(st.dictionaries(_NAMES, _VALUES, max_size=4), max_size=4),
        st.dictionaries(_NAMES, st.lists(_SCALARS, max_size=3), max_size=3).map(
            lambda columns: {"columns": columns}
        ),
    )
)
def test_random_records_get_2xx_or_4xx(served: ServedApp, body: Any) -> None:
    for text in (json.dumps(body), json.dumps(body, indent=1)):  # fast and general readers
        response = httpx.post(
            f"{served.url}/collector/models/churn/records",
            content=text,
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert response.status_code in (200, 400, 422), (text, response.text)
