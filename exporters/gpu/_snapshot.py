"""The background loop that reads the GPUs and publishes one immutable ``Snapshot``.

Scrapes never touch NVML: they serve the last snapshot and its age. The loop
reads the fast fields every ``interval_seconds``, the slow ones (PCIe
throughput blocks ~20 ms a direction; the energy counter costs ~4 ms of CPU)
every ``slow_interval_seconds``, and spends the time in between in
``nvmlEventSetWait`` counting Xid events. It initialises NVML lazily, retries
with a backoff when there is no driver, and re-initialises after a driver reset
(UNINITIALIZED, GPU_IS_LOST).
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from inferwatch.exporters.gpu._nvml import NO_DRIVER_MESSAGE, NvmlClient
from inferwatch.exporters.gpu._pods import PodSource
from inferwatch.exporters.gpu._types import (
    GpuReading,
    NvmlLostError,
    NvmlUnavailableError,
    PodRef,
    ReadGroupStatus,
    Snapshot,
    Status,
    SystemInfo,
)
from inferwatch.exporters.gpu.settings import GpuSettings

log = logging.getLogger("inferwatch.exporters.gpu")
_XID_WAIT_MS = 500


@dataclass
class _State:
    """What the loop carries between passes (only the loop thread writes it)."""

    initialised: bool = False
    system: SystemInfo | None = None
    count: int = 0
    next_init_at: float = 0.0
    last_init_at: float = 0.0
    last_slow_at: float | None = None
    slow: dict[int, GpuReading] = field(default_factory=dict)
    xid_open: bool = False
    xid_ok: bool = True
    xid_counts: dict[tuple[int, int], int] = field(default_factory=dict)
    last_xid: dict[int, int] = field(default_factory=dict)
    logged: tuple[Status, str] | None = None


class GpuSampler:
    """Reads GPUs in a background thread; ``snapshot()`` is what scrapes serve."""

    def __init__(
        self,
        client: NvmlClient,
        settings: GpuSettings,
        *,
        pods: PodSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        hostname: str | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.pods = pods
        self.clock = clock
        self.hostname = hostname if hostname is not None else socket.gethostname()
        self._state = _State()
        self._snapshot = Snapshot(taken_at=clock(), status=Status.STARTING, hostname=self.hostname)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The last published snapshot (an atomic reference read)."""
        return self._snapshot

    def age_seconds(self) -> float:
        """Seconds since the last snapshot was taken."""
        return max(0.0, self.clock() - self._snapshot.taken_at)

    def start(self) -> None:
        """Start the loop thread (once)."""
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="inferwatch-gpu", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and release NVML; safe to call twice."""
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout)
        if self._state.initialised:
            self._state.initialised = False
            self.client.shutdown()

    def sample_once(self) -> Snapshot:
        """One pass: (re)initialise if needed, read every GPU, publish the snapshot."""
        state, now = self._state, self.clock()
        if not state.initialised and not self._initialise(now):
            return self._snapshot
        try:
            settings = self.settings
            readings = [
                self.client.read_device(
                    i, processes=settings.processes, mig=settings.mig, gpm=settings.gpm
                )
                for i in range(state.count)
            ]
            if state.last_slow_at is None or (
                now - state.last_slow_at >= settings.slow_interval_seconds
            ):
                state.slow = {
                    i: self.client.read_slow(i, nvlink=settings.nvlink) for i in range(state.count)
                }
                state.last_slow_at = now
        except NvmlLostError as exc:
            self._lose(now, f"NVML lost ({exc}); re-initialising")
            return self._snapshot
        readings = [_merge(r, state.slow.get(r.info.index)) for r in readings]
        pods, pods_status = self._pods()
        groups = _read_group_status(readings, state.slow.values())
        groups["xid_events"] = ReadGroupStatus(state.xid_ok, 0.0)
        if pods_status is not None:
            groups["pods"] = pods_status
        self._publish(
            Snapshot(
                taken_at=now,
                status=Status.OK,
                system=state.system,
                gpus=tuple(readings),
                read_groups=groups,
                xid_counts=dict(state.xid_counts),
                last_xid=dict(state.last_xid),
                pods=pods,
                hostname=self.hostname,
            )
        )
        lost = [r.info.index for r in readings if not r.up]
        if lost and now - state.last_init_at >= self.settings.reinit_backoff_seconds:
            log.warning("GPU(s) %s lost; re-initialising NVML", lost)
            self._reset(now)
        return self._snapshot

    # -- loop --------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            started = self.clock()
            try:
                self.sample_once()
            except Exception:
                log.exception("GPU sampling pass failed; continuing")
            self._wait_events(started + self.settings.interval_seconds)

    def _wait_events(self, deadline: float) -> None:
        state = self._state
        while not self._stop.is_set():
            remaining = deadline - self.clock()
            if remaining <= 0:
                return
            if not state.xid_open:
                self._stop.wait(remaining)
                continue
            try:
                event = self.client.xid_wait(int(min(remaining * 1000, _XID_WAIT_MS)) or 1)
            except Exception as exc:
                log.warning("waiting for Xid events failed: %s", exc, exc_info=True)
                state.xid_open, state.xid_ok = False, False
                continue
            if event is not None:
                self.record_xid(*event)

    def record_xid(self, index: int, xid: int) -> None:
        """Count one Xid event and republish the snapshot with it."""
        state = self._state
        state.xid_counts[(index, xid)] = state.xid_counts.get((index, xid), 0) + 1
        state.last_xid[index] = xid
        log.warning("Xid %d on GPU %d", xid, index)
        self._publish(
            dataclasses.replace(
                self._snapshot, xid_counts=dict(state.xid_counts), last_xid=dict(state.last_xid)
            )
        )

    # -- helpers -----------------------------------------------------------
    def _initialise(self, now: float) -> bool:
        state = self._state
        if now < state.next_init_at:
            return False
        state.last_init_at = now
        try:
            state.system = self.client.init()
            count = self.client.device_count()
        except NvmlUnavailableError as exc:
            self._unavailable(now, exc.status, str(exc))
            return False
        except NvmlLostError as exc:
            self.client.shutdown()
            self._unavailable(now, Status.ERROR, f"NVML failed: {exc}")
            return False
        if count == 0:
            self.client.shutdown()
            self._unavailable(
                now,
                Status.NO_GPU,
                f"{NO_DRIVER_MESSAGE}: the NVIDIA driver sees no GPU (check "
                "NVIDIA_VISIBLE_DEVICES, the nvidia runtime, or the pod's GPU claim)",
            )
            return False
        state.initialised, state.count, state.last_slow_at = True, count, None
        self._log_state(Status.OK, f"NVML ready: {count} GPU(s), driver {state.system}")
        if self.settings.xid_events:
            try:
                self.client.xid_open()
                state.xid_open, state.xid_ok = True, True
            except (NvmlLostError, RuntimeError) as exc:
                log.warning("cannot register for Xid events: %s", exc)
                state.xid_open, state.xid_ok = False, False
        return True

    def _unavailable(self, now: float, status: Status, message: str) -> None:
        self._state.next_init_at = now + self.settings.reinit_backoff_seconds
        self._log_state(status, message)
        self._publish(
            Snapshot(
                taken_at=now,
                status=status,
                message=message,
                read_groups={"nvml": ReadGroupStatus(False, 0.0)},
                xid_counts=dict(self._state.xid_counts),
                last_xid=dict(self._state.last_xid),
                hostname=self.hostname,
            )
        )

    def _lose(self, now: float, message: str) -> None:
        self._reset(now)
        self._state.next_init_at = now  # try again on the next pass
        self._log_state(Status.ERROR, message)
        self._publish(
            dataclasses.replace(
                self._snapshot,
                taken_at=now,
                status=Status.ERROR,
                message=message,
                read_groups={"nvml": ReadGroupStatus(False, 0.0)},
            )
        )

    def _reset(self, now: float) -> None:
        state = self._state
        state.initialised, state.xid_open, state.slow = False, False, {}
        state.next_init_at = now
        self.client.shutdown()

    def _pods(self) -> tuple[Mapping[str, PodRef], ReadGroupStatus | None]:
        if self.pods is None:
            return {}, None
        start = time.perf_counter()
        try:
            found = self.pods.gpu_pods()
        except Exception as exc:  # noqa: BLE001 - enrichment never fails the pass
            log.warning("pod attribution failed, sending metrics without pod labels: %s", exc)
            return {}, ReadGroupStatus(False, time.perf_counter() - start)
        return dict(found), ReadGroupStatus(True, time.perf_counter() - start)

    def _publish(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def _log_state(self, status: Status, message: str) -> None:
        """Log a state once when it changes, not on every pass."""
        if self._state.logged == (status, message):
            return
        self._state.logged = (status, message)
        if status is Status.OK:
            log.info(message)
        else:
            log.warning(message)


def _merge(fast: GpuReading, slow: GpuReading | None) -> GpuReading:
    if slow is None or not fast.up or not slow.up:
        return fast
    return dataclasses.replace(
        fast,
        values={**slow.values, **fast.values},  # PCIe from GPM (fast) is fresher than slow
        unsupported=fast.unsupported | slow.unsupported,
        nvlinks=slow.nvlinks,
    )


def _read_group_status(
    readings: Iterable[GpuReading], slow: Iterable[GpuReading]
) -> dict[str, ReadGroupStatus]:
    """Per read group: success when it failed on no GPU, duration summed over GPUs."""
    merged: dict[str, ReadGroupStatus] = {"nvml": ReadGroupStatus(True, 0.0)}
    for group_map in [r.groups for r in (*readings, *slow)]:
        for name, result in group_map.items():
            seen = merged.get(name, ReadGroupStatus(True, 0.0))
            merged[name] = ReadGroupStatus(
                seen.success and result.ok, seen.duration_seconds + result.duration_seconds
            )
    return merged
