"""The ``dcgm`` naming mode: dcgm-exporter's ``DCGM_FI_*`` names, units and labels.

So that dcgm-exporter's Grafana dashboard (and rules written for it) work
unchanged. Units follow DCGM: percent, MiB, MHz, W, mJ. Labels follow
dcgm-exporter: ``gpu``, ``UUID``, ``pci_bus_id``, ``device`` (``nvidia<N>``),
``modelName``, ``Hostname``, plus ``pod``, ``namespace``, ``container`` when
known and ``GPU_I_ID`` on MIG instances. Differences, on purpose: series DCGM
types as counters are exposed as gauges (prometheus_client would append
``_total`` to a counter's name), and Xids are additionally counted by code in
``inferwatch_gpu_xid_errors_total`` (DCGM's ``DCGM_FI_DEV_XID_ERRORS`` is only
the last Xid seen).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from prometheus_client.core import GaugeMetricFamily, Metric

from inferwatch.exporters.gpu._convert import MIB
from inferwatch.exporters.gpu._metrics import Labeler, xid_families
from inferwatch.exporters.gpu._profiling import dcgm_profiling
from inferwatch.exporters.gpu._types import GpuReading, Reading, Snapshot

# reading -> (DCGM field name, multiplier from our base unit, help)
FIELDS: tuple[tuple[Reading, str, float, str], ...] = (
    (Reading.UTIL_GPU, "DCGM_FI_DEV_GPU_UTIL", 100.0, "GPU utilization (in %)."),
    (Reading.UTIL_MEMORY_COPY, "DCGM_FI_DEV_MEM_COPY_UTIL", 100.0, "Memory utilization (in %)."),
    (Reading.UTIL_ENCODER, "DCGM_FI_DEV_ENC_UTIL", 100.0, "Encoder utilization (in %)."),
    (Reading.UTIL_DECODER, "DCGM_FI_DEV_DEC_UTIL", 100.0, "Decoder utilization (in %)."),
    (Reading.MEMORY_USED, "DCGM_FI_DEV_FB_USED", 1 / MIB, "Framebuffer memory used (in MiB)."),
    (Reading.MEMORY_FREE, "DCGM_FI_DEV_FB_FREE", 1 / MIB, "Framebuffer memory free (in MiB)."),
    (Reading.MEMORY_TOTAL, "DCGM_FI_DEV_FB_TOTAL", 1 / MIB, "Framebuffer memory total (in MiB)."),
    (
        Reading.MEMORY_RESERVED,
        "DCGM_FI_DEV_FB_RESERVED",
        1 / MIB,
        "Framebuffer memory reserved (in MiB).",
    ),
    (Reading.TEMPERATURE, "DCGM_FI_DEV_GPU_TEMP", 1.0, "GPU temperature (in C)."),
    (Reading.MEMORY_TEMPERATURE, "DCGM_FI_DEV_MEMORY_TEMP", 1.0, "Memory temperature (in C)."),
    (Reading.POWER, "DCGM_FI_DEV_POWER_USAGE", 1.0, "Power draw (in W)."),
    (Reading.POWER_LIMIT, "DCGM_FI_DEV_POWER_MGMT_LIMIT", 1.0, "Power management limit (in W)."),
    (
        Reading.ENERGY,
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        1000.0,
        "Total energy consumption since boot (in mJ).",
    ),
    (Reading.SM_CLOCK, "DCGM_FI_DEV_SM_CLOCK", 1e-6, "SM clock frequency (in MHz)."),
    (Reading.MEMORY_CLOCK, "DCGM_FI_DEV_MEM_CLOCK", 1e-6, "Memory clock frequency (in MHz)."),
    (
        Reading.CLOCK_EVENT_REASONS,
        "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS",
        1.0,
        "Current clock throttle reasons (bitmask).",
    ),
    (Reading.PCIE_REPLAY, "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", 1.0, "Total number of PCIe retries."),
    (Reading.PCIE_TX, "DCGM_FI_PROF_PCIE_TX_BYTES", 1.0, "PCIe transmit rate (in B/s)."),
    (Reading.PCIE_RX, "DCGM_FI_PROF_PCIE_RX_BYTES", 1.0, "PCIe receive rate (in B/s)."),
    (
        Reading.ECC_CORRECTED_VOLATILE,
        "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
        1.0,
        "Total single-bit volatile ECC errors.",
    ),
    (
        Reading.ECC_UNCORRECTED_VOLATILE,
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
        1.0,
        "Total double-bit volatile ECC errors.",
    ),
    (
        Reading.ECC_CORRECTED_AGGREGATE,
        "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL",
        1.0,
        "Total single-bit persistent ECC errors.",
    ),
    (
        Reading.ECC_UNCORRECTED_AGGREGATE,
        "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL",
        1.0,
        "Total double-bit persistent ECC errors.",
    ),
    (
        Reading.REMAPPED_CORRECTABLE,
        "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
        1.0,
        "Number of remapped rows for correctable errors.",
    ),
    (
        Reading.REMAPPED_UNCORRECTABLE,
        "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
        1.0,
        "Number of remapped rows for uncorrectable errors.",
    ),
    (
        Reading.REMAP_FAILURE,
        "DCGM_FI_DEV_ROW_REMAP_FAILURE",
        1.0,
        "Whether remapping of rows has failed.",
    ),
    (
        Reading.REMAP_PENDING,
        "DCGM_FI_DEV_ROW_REMAP_PENDING",
        1.0,
        "Whether a row remap is pending.",
    ),
)
_MIG_FIELDS = {Reading.MEMORY_USED, Reading.MEMORY_TOTAL}


def _names(labeler: Labeler, *extra: str) -> list[str]:
    pods = ["container", "namespace", "pod"] if labeler.with_pods else []
    return ["gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", *pods, *extra]


def _values(labeler: Labeler, gpu: GpuReading, *extra: str, uuid: str | None = None) -> list[str]:
    uuid = uuid if uuid is not None else gpu.info.uuid
    info = gpu.info
    base = [str(info.index), uuid, info.pci_bus_id, f"nvidia{info.index}", info.name]
    base.append(labeler.snapshot.hostname)
    if labeler.with_pods:
        ref = labeler.pod(uuid)
        base += [ref.container, ref.namespace, ref.pod]
    return [*base, *extra]


def dcgm_families(snapshot: Snapshot, labeler: Labeler) -> Iterator[Metric]:
    """The ``DCGM_FI_*`` series of every readable GPU."""
    gpus = [g for g in snapshot.gpus if g.up]
    any_mig = any(gpu.mig for gpu in gpus)
    for reading, name, scale, doc in FIELDS:
        mig = any_mig and reading in _MIG_FIELDS
        family = GaugeMetricFamily(
            name, doc, labels=_names(labeler, "GPU_I_ID") if mig else _names(labeler)
        )
        for gpu in gpus:
            if reading in gpu.values:
                extra = ("",) if mig else ()
                family.add_metric(_values(labeler, gpu, *extra), gpu.values[reading] * scale)
            if mig:
                for inst in gpu.mig:
                    value = (
                        inst.memory_used if reading is Reading.MEMORY_USED else inst.memory_total
                    )
                    family.add_metric(
                        _values(labeler, gpu, str(inst.gpu_instance), uuid=inst.uuid),
                        value * scale,
                    )
        yield family
    yield from dcgm_profiling(gpus, partial(_names, labeler), partial(_values, labeler))
    xid = GaugeMetricFamily(
        "DCGM_FI_DEV_XID_ERRORS",
        "Value of the last XID error encountered.",
        labels=_names(labeler, "err_code"),
    )
    for gpu in gpus:
        last = snapshot.last_xid.get(gpu.info.index)
        if last is not None:
            xid.add_metric(_values(labeler, gpu, str(last)), float(last))
    yield xid
    yield from xid_families(snapshot, labeler)
