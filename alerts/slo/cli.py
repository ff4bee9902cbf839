"""`inferwatch slo ...`: rules and alerts from SLO specs (Sloth's ``prometheus/v1`` format)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inferwatch.cli_support import JsonFlag, emit, guarded

app = typer.Typer(
    help="SLOs: recording rules and burn-rate alerts from specs.", no_args_is_help=True
)


@app.command("generate")
def generate_command(
    spec: Annotated[
        Path, typer.Argument(help="A Sloth prometheus/v1 spec file.", exists=True, dir_okay=False)
    ],
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Where to write the two files.")
    ] = Path(),
    namespace: Annotated[
        str | None, typer.Option(help="metadata.namespace of the PrometheusRule.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write <service>.rules.yaml (for rule_files) and <service>.prometheusrule.yaml."""
    from inferwatch.alerts.slo.files import write_outputs

    written = guarded(lambda: write_outputs(spec, output_dir, namespace=namespace))
    emit(
        {"files": [str(p) for p in written]},
        as_json,
        human=lambda d: "\n".join(f"wrote {p}" for p in d["files"]),
    )
