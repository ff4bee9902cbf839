"""Which pod a GPU belongs to: the Downward API (sidecar) or the kubelet (node DaemonSet).

Sidecar / in-process: the pod's own name, namespace and container come from
environment variables set through the Downward API; every GPU the process sees
belongs to that pod.

Node DaemonSet: the kubelet's PodResources API (``List`` on a unix socket, gRPC)
says which container holds which device-plugin device; for ``nvidia.com/gpu``
the device ids are GPU or MIG UUIDs. The gRPC call needs the optional
``grpcio`` package; the response is decoded here from the protobuf wire format
(``k8s.io/kubelet/pkg/apis/podresources/v1``), so no generated stubs are needed.
When the call fails, metrics go out without pod labels and the ``pods``
read group reports failure.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from inferwatch.exporters.gpu._types import GpuExporterError, PodRef

LIST_METHOD = "/v1.PodResourcesLister/List"


class PodSource(Protocol):
    """Maps GPU (or MIG) UUIDs to the pod holding them."""

    def gpu_pods(self) -> Mapping[str, PodRef]:
        """UUID -> pod; raise on failure (the caller isolates it)."""
        ...


def downward_pod(
    environ: Mapping[str, str], pod_env: str, namespace_env: str, container_env: str
) -> PodRef | None:
    """The pod this process runs in, from Downward API env vars; None when not set."""
    pod = environ.get(pod_env, "")
    if not pod:
        return None
    return PodRef(
        pod=pod, namespace=environ.get(namespace_env, ""), container=environ.get(container_env, "")
    )


class KubeletPodResources:
    """``PodSource`` over the kubelet PodResources socket.

    ``call`` sends the serialized ``ListPodResourcesRequest`` and returns the
    serialized response; by default it is a gRPC call over ``socket`` (grpcio).
    """

    def __init__(
        self,
        socket: Path,
        resource_names: tuple[str, ...] = ("nvidia.com/gpu",),
        timeout_seconds: float = 2.0,
        call: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.socket = socket
        self.resource_names = resource_names
        self.timeout = timeout_seconds
        self._call = call if call is not None else self._grpc_list

    def gpu_pods(self) -> Mapping[str, PodRef]:
        """Ask the kubelet which pod holds each GPU."""
        return pods_from_list_response(self._call(b""), self.resource_names)

    def _grpc_list(self, request: bytes) -> bytes:
        try:
            grpc: Any = importlib.import_module("grpc")
        except ImportError as exc:
            raise GpuExporterError(
                "pod_labels=kubelet needs the optional grpcio package (pip install grpcio)"
            ) from exc
        if not self.socket.exists():
            raise GpuExporterError(f"kubelet PodResources socket {self.socket} does not exist")
        channel = grpc.insecure_channel(f"unix://{self.socket}")
        try:
            method = channel.unary_unary(LIST_METHOD)
            response: bytes = method(request, timeout=self.timeout)
            return response
        finally:
            channel.close()


def pods_from_list_response(data: bytes, resource_names: tuple[str, ...]) -> dict[str, PodRef]:
    """Decode ``ListPodResourcesResponse`` into UUID -> pod for the named resources.

    Fields used: response.pod_resources(1) -> PodResources{name(1), namespace(2),
    containers(3)} -> ContainerResources{name(1), devices(2)} ->
    ContainerDevices{resource_name(1), device_ids(2)}.
    """
    found: dict[str, PodRef] = {}
    for pod_data in _submessages(data, 1):
        pod = _string(pod_data, 1)
        namespace = _string(pod_data, 2)
        for container_data in _submessages(pod_data, 3):
            container = _string(container_data, 1)
            for devices in _submessages(container_data, 2):
                if _string(devices, 1) not in resource_names:
                    continue
                for device_id in _submessages(devices, 2):
                    found[device_id.decode()] = PodRef(pod, namespace, container)
    return found


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint in PodResources response")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _wire_fields(data: bytes) -> Iterator[tuple[int, bytes | None]]:
    """(field number, bytes of a length-delimited field or None) for each field."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
            yield number, None
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field in PodResources response")
            yield number, data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            yield number, None
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} in PodResources response")


def _submessages(data: bytes, number: int) -> Iterator[bytes]:
    for field_number, value in _wire_fields(data):
        if field_number == number and value is not None:
            yield value


def _string(data: bytes, number: int) -> str:
    for value in _submessages(data, number):
        return value.decode()
    return ""
