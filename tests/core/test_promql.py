"""The one PromQL client against a real Prometheus: instant vectors, scalars, ranges, errors."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest

from inferwatch.promql import PromQLClient, PromQLError, Sample
from inferwatch.stack import PrometheusProcess


@pytest.mark.stack
def test_instant_scalar_and_range_queries_on_a_real_prometheus(
    prometheus_factory: Callable[..., PrometheusProcess],
) -> None:
    prometheus = prometheus_factory()
    client = PromQLClient(prometheus.url)
    now = time.time()
    assert client.instant('label_replace(vector(2), "k", "v", "", "")', now) == [
        Sample({"k": "v"}, 2.0)
    ]
    assert client.instant("scalar(vector(3))", now, scalar=True) == [Sample({}, 3.0)]
    with pytest.raises(PromQLError, match="scalar result, not a vector"):
        client.instant("scalar(vector(3))", now)

    (series,) = client.range("vector(1)", now - 60, now, 15)
    assert series.labels == {}
    assert [v for _, v in series.points] == [1.0] * 5
    times = [t for t, _ in series.points]
    assert [b - a for a, b in itertools.pairwise(times)] == pytest.approx([15.0] * 4)

    with pytest.raises(PromQLError, match=r"failed at .* \(HTTP 400\): .*parse error"):
        client.instant("sum(", now)
    client.close()


def test_an_unreachable_api_names_it_without_its_credentials() -> None:
    client = PromQLClient("http://user:pw-s3cret@127.0.0.1:9", timeout=0.5)
    with pytest.raises(PromQLError, match="unreachable") as caught:
        client.instant("up")
    assert "s3cret" not in str(caught.value) and "***@127.0.0.1:9" in str(caught.value)
