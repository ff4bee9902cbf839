"""Against a real NVIDIA driver, where there is one (skipped elsewhere): the real
library, the real client, and the values nvidia-smi reports."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from inferwatch.exporters.gpu._nvml import PynvmlClient
from inferwatch.exporters.gpu._types import NvmlUnavailableError, Reading

pytestmark = pytest.mark.gpu


@pytest.fixture
def gpu_client() -> PynvmlClient:
    client = PynvmlClient()
    try:
        client.init()
    except NvmlUnavailableError as exc:
        pytest.skip(str(exc))
    if client.device_count() == 0:
        client.shutdown()
        pytest.skip("no GPU visible")
    return client


def test_real_gpu_reads_and_matches_nvidia_smi(gpu_client: PynvmlClient) -> None:
    try:
        reading = gpu_client.read_device(0, processes=True, mig=True)
        slow = gpu_client.read_slow(0)
    finally:
        gpu_client.shutdown()
    assert reading.up
    assert all(group.ok for group in reading.groups.values()), reading.groups
    assert 0 <= reading.values[Reading.UTIL_GPU] <= 1
    assert Reading.ENERGY in slow.values
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return
    out = subprocess.run(
        [smi, "--id=0", "--query-gpu=uuid,memory.total", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    uuid, total_mib = (cell.strip() for cell in out.split(","))
    assert reading.info.uuid == uuid
    assert reading.values[Reading.MEMORY_TOTAL] / 2**20 == pytest.approx(float(total_mib), abs=1)
