"""`inferwatch drift baseline ...`: create, list and show baselines."""

from __future__ import annotations

import typer

app = typer.Typer(help="Create, list and show baselines.", no_args_is_help=True)


@app.callback()
def baseline() -> None:
    """Create, list and show baselines."""
