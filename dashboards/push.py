"""`inferwatch dashboards push`: create the folder and upsert the dashboards via Grafana's API.

Idempotent: the folder is looked up by uid and created only when missing, and each
dashboard is posted with ``overwrite: true`` under its stable uid, so running it
twice changes nothing but Grafana's version counter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inferwatch.errors import InferwatchError
from inferwatch.httputil import redact_url


class PushError(InferwatchError):
    """Grafana refused or could not be reached."""


@dataclass(frozen=True)
class PushResult:
    """What one push did."""

    folder_uid: str
    folder_created: bool
    dashboards: tuple[str, ...]


def folder_uid_for(title: str) -> str:
    """A stable folder uid derived from its title."""
    return re.sub(r"[^a-z0-9-]+", "-", title.lower()).strip("-")[:40] or "inferwatch"


def push(
    grafana_url: str,
    dashboards: Mapping[str, Mapping[str, Any]],
    *,
    token: str | None = None,
    folder: str = "inferwatch",
    timeout: float = 10.0,
) -> PushResult:
    """Create ``folder`` if needed and upsert ``dashboards`` into it."""
    from grafana_client.api import GrafanaApi
    from grafana_client.client import GrafanaClientError, GrafanaException

    api = GrafanaApi.from_url(grafana_url, credential=token, timeout=timeout)
    folder_uid = folder_uid_for(folder)
    created = False
    try:
        try:
            api.folder.get_folder(folder_uid)
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
            api.folder.create_folder(folder, uid=folder_uid)
            created = True
        for model in dashboards.values():
            body = dict(model)
            body.pop("id", None)
            api.dashboard.update_dashboard(
                {
                    "dashboard": body,
                    "folderUid": folder_uid,
                    "overwrite": True,
                    "message": "provisioned by inferwatch dashboards push",
                }
            )
    except GrafanaException as exc:
        raise PushError(f"Grafana at {redact_url(grafana_url)} refused: {exc}") from exc
    except OSError as exc:
        raise PushError(f"cannot reach Grafana at {redact_url(grafana_url)}: {exc}") from exc
    return PushResult(folder_uid=folder_uid, folder_created=created, dashboards=tuple(dashboards))
