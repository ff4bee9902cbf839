"""Pod attribution: Downward API env (sidecar) and the kubelet PodResources List
response (node mode), decoded from hand-encoded protobuf wire bytes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from inferwatch.exporters.gpu._pods import (
    KubeletPodResources,
    downward_pod,
    pods_from_list_response,
)
from inferwatch.exporters.gpu._types import GpuExporterError, PodRef


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _devices(resource: str, *ids: str) -> bytes:
    numa = _varint(1 << 3 | 0) + _varint(0)  # a varint field the decoder must skip
    return _field(1, resource) + b"".join(_field(2, i) for i in ids) + _field(3, numa)


def list_response() -> bytes:
    """kubelet v1 ListPodResourcesResponse with two pods, one without GPUs."""
    llm = (
        _field(1, "llm-0")
        + _field(2, "serving")
        + _field(3, _field(1, "vllm") + _field(2, _devices("nvidia.com/gpu", "GPU-aaa", "MIG-bbb")))
        + _field(3, _field(1, "sidecar") + _field(2, _devices("example.com/nic", "nic-1")))
    )
    web = _field(1, "web-1") + _field(2, "default") + _field(3, _field(1, "nginx"))
    return _field(1, llm) + _field(1, web)


def test_list_response_maps_gpu_and_mig_uuids_to_pods() -> None:
    pods = pods_from_list_response(list_response(), ("nvidia.com/gpu",))
    assert pods == {
        "GPU-aaa": PodRef("llm-0", "serving", "vllm"),
        "MIG-bbb": PodRef("llm-0", "serving", "vllm"),
    }


def test_truncated_response_is_an_error_not_a_wrong_answer() -> None:
    with pytest.raises(ValueError, match="truncated"):
        pods_from_list_response(list_response()[:-3], ("nvidia.com/gpu",))


def test_kubelet_source_uses_the_injected_call() -> None:
    sent: list[bytes] = []

    def call(request: bytes) -> bytes:
        sent.append(request)
        return list_response()

    source = KubeletPodResources(Path("/nonexistent.sock"), call=call)
    assert source.gpu_pods()["GPU-aaa"].pod == "llm-0"
    assert sent == [b""]  # ListPodResourcesRequest has no fields


def test_kubelet_without_grpcio_or_socket_says_what_is_missing(tmp_path: Path) -> None:
    source = KubeletPodResources(tmp_path / "kubelet.sock")
    expected = "grpcio" if importlib.util.find_spec("grpc") is None else "does not exist"
    with pytest.raises(GpuExporterError, match=expected):
        source.gpu_pods()


def test_downward_api_env() -> None:
    env = {"POD_NAME": "llm-0", "POD_NAMESPACE": "serving", "CONTAINER_NAME": "vllm"}
    assert downward_pod(env, "POD_NAME", "POD_NAMESPACE", "CONTAINER_NAME") == PodRef(
        "llm-0", "serving", "vllm"
    )
    assert downward_pod({}, "POD_NAME", "POD_NAMESPACE", "CONTAINER_NAME") is None
