"""Instrument and attribute names, in one place so code, views, docs and tests agree.

OpenTelemetry semantic-convention names where one exists (HTTP server metrics,
stable; ``gen_ai.server.*``, development status); ``inferwatch.*`` for the rest.
The OTel Prometheus reader turns dots into underscores and appends the unit
(``s`` -> ``_seconds``, ``By`` -> ``_bytes``; ``{...}`` annotations add nothing).
"""

from __future__ import annotations

from inferwatch import httputil

METER_NAME = "inferwatch.exporters.instrumentation"

# HTTP server (semantic conventions, stable)
HTTP_DURATION = "http.server.request.duration"
HTTP_ACTIVE = "http.server.active_requests"
HTTP_REQUEST_BODY_SIZE = "http.server.request.body.size"
HTTP_RESPONSE_BODY_SIZE = "http.server.response.body.size"

# Any serving loop (no convention exists for non-generative inference)
INFERENCE_DURATION = "inferwatch.inference.duration"
INFERENCE_ACTIVE = "inferwatch.inference.active_requests"
QUEUE_DURATION = "inferwatch.inference.queue.duration"
QUEUED_REQUESTS = "inferwatch.inference.queued_requests"
BATCH_SIZE = "inferwatch.inference.batch.size"
INFERENCE_PAYLOAD_SIZE = "inferwatch.inference.payload.size"

# Generative models (semantic conventions, development status)
GEN_AI_REQUEST_DURATION = "gen_ai.server.request.duration"
TIME_TO_FIRST_TOKEN = "gen_ai.server.time_to_first_token"
TIME_PER_OUTPUT_TOKEN = "gen_ai.server.time_per_output_token"
# Shaped like gen_ai.client.token.usage; the conventions define no server-side one.
TOKEN_USAGE = "inferwatch.gen_ai.server.token.usage"

# Attributes
MODEL = "model"
MODEL_VERSION = "model_version"
HTTP_METHOD = "http.request.method"
HTTP_ROUTE = "http.route"
HTTP_STATUS = "http.response.status_code"
URL_SCHEME = "url.scheme"
ERROR_TYPE = "error.type"
OUTCOME = "outcome"
TOKEN_TYPE = "gen_ai.token.type"
GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_PROVIDER = "gen_ai.provider.name"

UNMATCHED_ROUTE = httputil.UNMATCHED_ROUTE
"""The one ``http.route`` value for requests no route template matched (404s, scans)."""
OTHER_METHOD = "_OTHER"
"""``http.request.method`` for methods outside the known set (semantic conventions)."""
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
