"""Run the demo's story, then plot every dashboard from its real Prometheus into docs/images.

    .venv/bin/python scripts/render_dashboards.py [OUT_DIR]

The pictures in the README come from this: the dashboards' own queries, run as
range queries against the Prometheus that scraped the demo (no Grafana server
runs here, so matplotlib draws the panels).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from inferwatch.dashboards import catalog
from inferwatch.dashboards.render import render_dashboard
from inferwatch.demo.chain import DemoOptions, running
from inferwatch.demo.story import run_story
from inferwatch.logs import configure_logging


def main() -> int:
    """Render every dashboard after a demo run; print the files written."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images")
    configure_logging("WARNING", "text")
    options = DemoOptions(
        workdir=Path(tempfile.mkdtemp(prefix="inferwatch-render-")), xid_interval_seconds=15
    )
    with running(options) as stack:
        run_story(stack)
        time.sleep(20)  # a little history after the webhook
        assert stack.prometheus is not None
        for uid, model in catalog.load_generated().items():
            path = render_dashboard(model, stack.prometheus.url, out / f"{uid}.png", minutes=1.5)
            sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
