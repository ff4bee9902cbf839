"""What the ``server`` extra adds, by import name, and the error when it is missing.

``pip install inferwatch`` is the lean client that runs in model pods (instrumentation,
recorder, GPU exporter); the services need ``pip install "inferwatch[server]"``. A verb
run on the lean install that reaches a service's code fails on one of these imports,
and ``inferwatch.cli.main`` turns that into one line saying what to install.
"""

from __future__ import annotations

import importlib.util

SERVER_MODULES = frozenset(
    {
        "pandas",
        "scipy",
        "evidently",
        "pyarrow",
        "fastapi",
        "fastapi_offline",
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "alembic",
        "psycopg",
        "kubernetes",
        "grafana_client",
        "grafana_foundation_sdk",
        "sklearn",
        "threadpoolctl",
    }
)
"""Top-level modules of the ``server`` extra's distributions (and what they pull in)."""

INSTALL_SERVER = 'pip install "inferwatch[server]"'


def missing_server_extra(exc: ModuleNotFoundError) -> str | None:
    """The message for an import that failed because the ``server`` extra is missing,
    or None when ``exc`` is about another module."""
    top = (exc.name or "").split(".")[0]
    if top not in SERVER_MODULES:
        return None
    return (
        f"this needs the inferwatch services' dependencies ({top} is not installed; "
        f"the base install is the lean client for model pods): {INSTALL_SERVER}"
    )


def require_server() -> None:
    """Raise the ``ModuleNotFoundError`` ``main`` reports when the services' web stack is
    missing, before a verb prints anything that suggests it started."""
    for name in ("uvicorn", "fastapi"):
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
