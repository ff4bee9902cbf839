"""Test doubles for the outermost boundaries, shipped for users' tests and ``--simulate``.

They stand where no real part can run here, at the boundary itself, so the
project's own code runs whole behind them:

    - ``nvml``: a fake NVIDIA driver at NVML's C ABI (``FakeNvmlLib``,
      ``private_pynvml``, ``simulated_gpus``), behind the GPU exporter's
      ``exporters.gpu.simulate`` mode and its tests.
    - ``engines``: simulated LLM serving engines exposing vLLM's, TGI's, Triton's and
      SGLang's own metrics (the demo serves one; the engine recording rules are
      tested against them).
    - ``actions``: loopback CI and Kubernetes API servers (``RecordingServer``,
      ``FakeKubernetesApi``) and Alertmanager webhook bodies.
    - ``instrumentation``: ``ManualClock``, ``samples(registry, name)`` and a loopback
      OTLP receiver for code that uses ``instrument(...)``.

No product module imports this package at import time; the GPU exporter imports
``nvml`` only when asked to simulate.
"""

__all__ = ["actions", "engines", "instrumentation", "nvml"]
