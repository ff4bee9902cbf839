"""The ``inferwatch demo`` verb, registered in ``inferwatch.registry.CLI_GROUPS``.

Core's CLI names it by import path and imports it when the verb runs, so the demo's
modules (and the test doubles it serves) cost nothing to any other command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inferwatch.cli_support import JsonFlag, emit


def demo(
    workdir: Annotated[Path | None, typer.Option(help="Keep the demo's state here.")] = None,
    stack: Annotated[
        bool, typer.Option(help="Use real Prometheus and Alertmanager when installed.")
    ] = True,
    keep_running: Annotated[
        bool, typer.Option(help="Keep everything up after the story, until Ctrl-C.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the whole chain: baseline, traffic, drift, alert, retraining webhook (about a minute)."""
    import shutil
    import tempfile
    import time

    from inferwatch.demo.chain import DemoOptions, running, stack_available
    from inferwatch.demo.story import run_story
    from inferwatch.logs import configure_logging

    # The timeline is the output: warnings (the simulated GPUs' Xid events) would interleave.
    configure_logging("ERROR", "text")
    use_stack = stack and stack_available()
    if stack and not use_stack:
        typer.echo(
            "prometheus/alertmanager not found: run scripts/setup.sh for the full chain", err=True
        )
    root = workdir or Path(tempfile.mkdtemp(prefix="inferwatch-demo-"))
    options = DemoOptions(workdir=root, use_stack=use_stack, keep_running=keep_running)
    say = (lambda _: None) if as_json else typer.echo
    try:
        with running(options, say) as demo_stack:
            result = run_story(demo_stack)
            calls = len(result.retrain_calls)
            summary = {
                "retraining_calls": calls,
                "onset_to_webhook_seconds": result.onset_to_webhook_seconds,
                "drifted_features": (result.drift or {}).get("drifted_features", []),
                "report_url": result.report_url,
                "timeline": [
                    {"at": round(e.at, 2), "event": e.what, **e.detail} for e in result.events
                ],
            }
            emit(
                summary,
                as_json,
                human=lambda d: (
                    f"\nretraining calls: {d['retraining_calls']} "
                    f"(drift onset -> webhook: {_seconds(d['onset_to_webhook_seconds'])})"
                    + (f"\nreport: {d['report_url']}" if d["report_url"] else "")
                ),
            )
            if keep_running:
                typer.echo("everything keeps running; Ctrl-C stops it", err=True)
                while True:
                    time.sleep(1)
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
    finally:
        if workdir is None:  # a temporary folder (it holds the demo's hook secret)
            shutil.rmtree(root, ignore_errors=True)


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}s"
