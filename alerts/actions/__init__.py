"""The actions receiver: Alertmanager webhooks turned into scale, retrain and CI actions
through a durable outbox, with audit, policy and HTTP API.

Public modules: ``api``, ``cli``, ``service``, ``settings``, ``targets``.
"""

__all__ = ["api", "cli", "service", "settings", "targets"]
