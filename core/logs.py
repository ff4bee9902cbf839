"""Logs on stderr: one JSON object a line for log shippers, or a line a person reads.

``auto`` (the default) picks text at a terminal and JSON otherwise; ``log_format``
(``--log-format``, ``INFERWATCH_LOG_FORMAT``) forces either. Extra fields go in
through ``logger.info("msg", extra={"fields": {...}})`` so that
the keys stay ours and never collide with ``logging.LogRecord`` attributes. Every
line goes through ``redact_text`` on its way out, so a URL's credentials or secret
query parameters (httpx logs whole request URLs) never reach a log.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from inferwatch.httputil import redact_text


class JsonFormatter(logging.Formatter):
    """Formats a record as ``{"ts", "level", "logger", "msg", ...fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact_text(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(
                {k: redact_text(v) if isinstance(v, str) else v for k, v in fields.items()}
            )
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """``12:00:01.234 INFO  inferwatch.http: request method=GET route=/x status=200``,
    with secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        line = f"{when} {record.levelname:<5} {record.name}: {record.getMessage()}"
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line += "".join(f" {key}={_text(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact_text(line)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    text = str(value)
    return json.dumps(text) if not text or " " in text else text


def resolve_format(fmt: str, stream: Any = None) -> str:
    """``json`` or ``text``: ``auto`` is text when ``stream`` (stderr) is a terminal."""
    if fmt != "auto":
        return fmt
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "text" if callable(isatty) and isatty() else "json"


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Send every logger's records to stderr in the chosen format (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    if resolve_format(fmt) == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
