"""The one outbound HTTP helper against a real HTTP server on loopback: which failures are
tried again for which kind of call, ``Retry-After``, and redaction of what fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inferwatch.http_client import (
    IDEMPOTENCY_HEADER,
    Call,
    HttpCallError,
    HttpClient,
    RetryPolicy,
    auth_for,
)
from inferwatch.stack import free_port


@dataclass(frozen=True)
class Answer:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Script:
    """A loopback server that answers each request with the next scripted answer."""

    answers: list[Answer]
    seen: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, headers: dict[str, str]) -> Answer:
        with self.lock:
            self.seen.append(headers)
            return self.answers[min(len(self.seen), len(self.answers)) - 1]


@pytest.fixture
def server() -> Iterator[Callable[[list[Answer]], tuple[str, Script]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answers: list[Answer]) -> tuple[str, Script]:
        script = Script(answers)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                answer = script.next({k.lower(): v for k, v in self.headers.items()})
                time.sleep(answer.delay)
                body = answer.body.encode()
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out
                    pass

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        servers.append(httpd)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{httpd.server_address[1]}", script

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


RETRY3 = RetryPolicy(attempts=3, backoff_seconds=0.01, max_backoff_seconds=0.05)


def client(url: str, waits: list[float]) -> HttpClient:
    return HttpClient(url, timeout=2.0, retry=RETRY3, sleep=waits.append)


def test_a_429_with_retry_after_is_retried_after_that_wait_then_succeeds(
    server: Callable[[list[Answer]], tuple[str, Script]],
) -> None:
    url, script = server([Answer(429, "slow down", {"Retry-After": "2"}), Answer(200, "ok")])
    waits: list[float] = []
    response = client(url, waits).request("GET", "/things", call=Call.READ)
    assert response.text == "ok"
    assert len(script.seen) == 2
    assert waits == [2.0]  # the server's Retry-After, not the policy's backoff


def test_retry_after_is_capped_by_the_policy(
    server: Callable[[list[Answer]], tuple[str, Script]],
) -> None:
    url, _ = server([Answer(503, headers={"Retry-After": "3600"}), Answer(204)])
    waits: list[float] = []
    capped = RetryPolicy(attempts=2, max_retry_after_seconds=1.5)
    client(url, waits).request("POST", "/w", call=Call.WRITE, retry=capped)
    assert waits == [1.5]


@pytest.mark.parametrize("call", list(Call), ids=[c.value for c in Call])
@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
def test_a_4xx_is_never_retried(
    server: Callable[[list[Answer]], tuple[str, Script]], status: int, call: Call
) -> None:
    url, script = server([Answer(status, "bad request body")])
    waits: list[float] = []
    with pytest.raises(HttpCallError) as caught:
        client(url, waits).request("POST", "/x", call=call)
    assert len(script.seen) == 1 and waits == []
    assert caught.value.status_code == status and not caught.value.retryable
    assert "bad request body" in str(caught.value)


def test_5xx_is_retried_until_the_attempts_run_out(
    server: Callable[[list[Answer]], tuple[str, Script]],
) -> None:
    url, script = server([Answer(500), Answer(502), Answer(503)])
    waits: list[float] = []
    with pytest.raises(HttpCallError) as caught:
        client(url, waits).request("GET", "/x", call=Call.READ)
    assert len(script.seen) == 3 and len(waits) == 2
    assert caught.value.retryable and caught.value.status_code == 503
    assert all(0 < w <= RETRY3.max_backoff_seconds for w in waits)


def test_a_write_without_idempotency_key_is_not_sent_again_after_a_read_timeout(
    server: Callable[[list[Answer]], tuple[str, Script]],
) -> None:
    url, script = server([Answer(200, delay=1.0)])
    waits: list[float] = []
    http = HttpClient(url, timeout=0.2, retry=RETRY3, sleep=waits.append)
    with pytest.raises(HttpCallError, match="timed out") as caught:
        http.request("POST", "/dispatch", call=Call.WRITE, content=b"{}")
    assert len(script.seen) == 1 and waits == []
    assert not caught.value.retryable and caught.value.status_code is None


def test_an_idempotency_key_makes_a_write_safe_to_send_again_after_a_timeout(
    server: Callable[[list[Answer]], tuple[str, Script]],
) -> None:
    url, script = server([Answer(200, delay=1.0), Answer(200, delay=1.0), Answer(201, "made")])
    waits: list[float] = []
    http = HttpClient(url, timeout=0.2, retry=RETRY3, sleep=waits.append)
    response = http.request("POST", "/dispatch", call=Call.WRITE, idempotency_key="k-1")
    assert response.status_code == 201 and len(script.seen) == 3
    assert {h[IDEMPOTENCY_HEADER.lower()] for h in script.seen} == {"k-1"}


def test_a_refused_connection_is_retried_even_for_a_write() -> None:
    waits: list[float] = []
    http = HttpClient(
        f"http://127.0.0.1:{free_port()}", timeout=0.5, retry=RETRY3, sleep=waits.append
    )
    with pytest.raises(HttpCallError, match="ConnectError") as caught:
        http.request("POST", "/x", call=Call.WRITE)
    assert caught.value.retryable and len(waits) == 2  # never sent, so safe to send again


def test_tokens_never_reach_the_error_message(
    server: Callable[[list[Answer]], tuple[str, Script]],
) -> None:
    # A broken proxy that echoes what it got, credentials included.
    url, script = server([Answer(500, "got Authorization: Bearer tok-s3cret-123 for /x")])
    secret_url = url.replace("http://", "http://admin:pw-s3cret@") + "/x?access_token=q-s3cret"
    http = HttpClient(timeout=2.0, auth=auth_for(bearer_token="tok-s3cret-123"))
    with pytest.raises(HttpCallError) as caught:
        http.request("GET", secret_url, call=Call.READ)
    message = str(caught.value)
    assert script.seen[0]["authorization"] == "Bearer tok-s3cret-123"  # it was sent
    assert "s3cret" not in message
    assert "answered 500" in message and "Bearer ***" in message and "***@127.0.0.1" in message
    assert "s3cret" not in repr(auth_for(bearer_token="tok-s3cret-123"))


def test_basic_auth_is_sent(server: Callable[[list[Answer]], tuple[str, Script]]) -> None:
    url, script = server([Answer(200)])
    HttpClient(url, timeout=2.0, auth=auth_for(username="u", password="p")).request(
        "GET", "/", call=Call.READ
    )
    assert script.seen[0]["authorization"] == "Basic dTpw"
