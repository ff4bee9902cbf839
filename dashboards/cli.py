"""`inferwatch dashboards ...`: generate and push Grafana dashboards."""

from __future__ import annotations

import typer

app = typer.Typer(help="Grafana dashboards as code: generate and push.", no_args_is_help=True)


@app.callback()
def dashboards() -> None:
    """Grafana dashboards as code: generate and push."""
