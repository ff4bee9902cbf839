"""Alerting rules: model, templates, evaluation engine, notification, HTTP API and CLI. The
shipped rule files (``*.yaml``) live in this folder too.

Public modules: ``api``, ``cli``, ``model``, ``service``, ``settings``.
"""

__all__ = ["api", "cli", "model", "service", "settings"]
