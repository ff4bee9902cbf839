"""The demo's LLM engine: a simulated vLLM server whose queue outgrows one replica.

Prometheus scrapes its vLLM-named metrics and maps them onto inferwatch's names with the
shipped engine adapters; the demo's SLO rules (``alerts/examples/slo-llm.yaml``) and its
queue rule read the mapped names, so the LLM panels, the SLO dashboard and a scale on
requests waiting all happen without a GPU.
"""

from __future__ import annotations

import random
import threading
from importlib.resources import files
from pathlib import Path

from inferwatch.alerts.rules.model import engine_rule_file
from inferwatch.stack import ServedApp
from inferwatch.testing import engines

ENGINE_MODEL = "llama"
WAITING = 12
"""Requests the simulated queue holds: above the demo's queue rule threshold."""


class DemoEngine:
    """A ``VllmSim`` served over HTTP, finishing requests from a background thread."""

    def __init__(self, model: str = ENGINE_MODEL, period: float = 0.2, seed: int = 7) -> None:
        self.sim = engines.VllmSim(model)
        self.server = ServedApp(engines.app(self.sim))
        self._period = period
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-engine", daemon=True)

    @property
    def target(self) -> str:
        """``host:port`` for Prometheus."""
        return f"127.0.0.1:{self.server.port}"

    def start(self) -> DemoEngine:
        """Serve ``/metrics`` and start the load."""
        self.server.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the load and the server; safe to call twice."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.server.stop()

    def _run(self) -> None:
        rng = self._rng
        while not self._stop.is_set():
            ttft = rng.uniform(0.05, 0.4)
            tokens = rng.randint(20, 200)
            tpot = rng.uniform(0.01, 0.05)
            self.sim.finish(
                engines.SimRequest(
                    duration=ttft + tokens * tpot,
                    ttft=ttft,
                    tpot=tpot,
                    queue=rng.uniform(0.1, 1.5),
                    prompt_tokens=rng.randint(50, 800),
                    output_tokens=tokens,
                    failed=rng.random() < 0.002,
                )
            )
            self.sim.load(running=8, waiting=WAITING, kv_cache_usage=rng.uniform(0.85, 0.95))
            self._stop.wait(self._period)


def prometheus_rule_files(workdir: Path) -> list[Path]:
    """The engine adapters plus the example SLO spec's rules, written under ``workdir``."""
    from inferwatch.alerts.slo.files import dump
    from inferwatch.alerts.slo.rules import rule_file
    from inferwatch.alerts.slo.spec import parse_spec

    spec = files("inferwatch.alerts").joinpath("examples/slo-llm.yaml").read_text()
    slo_rules = workdir / "slo.rules.yaml"
    slo_rules.write_text(dump(rule_file(parse_spec(spec, "slo-llm.yaml"))))
    return [engine_rule_file(), slo_rules]
