"""What the one outbound HTTP helper costs over a bare ``httpx.Client``.

Per request: a bare ``httpx.Client.get`` (the peer) against ``HttpClient.request`` with one
attempt (classification and redaction only: the recorder's shipping, action deliveries)
and with a retry policy (the ``tenacity`` path: PromQL queries, Alertmanager posts), each
in memory (``httpx.MockTransport``, the helper's own cost) and against one keep-alive HTTP
server on loopback that answers 200. Variants run in turn,
rotated, best of several rounds. Import: a fresh interpreter importing ``httpx`` alone
against one importing ``inferwatch.http_client`` (what a model pod pays for the recorder's
shipping path), best of several runs.

    .venv/bin/python -m bench.http_client [--requests 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from bench._drift_common import machine, markdown_table, write_results
from inferwatch.http_client import Call, HttpClient, RetryPolicy


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real service answers
    disable_nagle_algorithm = True  # headers and body leave at once, no delayed-ACK wait

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def _variants(
    url: str, transport: httpx.BaseTransport | None
) -> dict[str, tuple[Callable[[], object], Callable[[], None]]]:
    bare = httpx.Client(timeout=5.0, transport=transport)
    once = HttpClient(url, timeout=5.0, transport=transport)
    retrying = HttpClient(url, timeout=5.0, transport=transport, retry=RetryPolicy(attempts=3))
    return {
        "httpx.Client.get (peer)": (lambda: bare.get(f"{url}/x"), bare.close),
        "HttpClient.request, one attempt": (
            lambda: once.request("GET", "/x", call=Call.READ),
            once.close,
        ),
        "HttpClient.request, retry policy (tenacity)": (
            lambda: retrying.request("GET", "/x", call=Call.READ),
            retrying.close,
        ),
    }


def measure_requests(requests: int, rounds: int, *, in_memory: bool) -> dict[str, float]:
    """Best microseconds per request of each variant, over loopback or in memory."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    transport = httpx.MockTransport(lambda _: httpx.Response(200, text="ok")) if in_memory else None
    variants = _variants(url, transport)
    best = {name: float("inf") for name in variants}
    names = list(variants)
    try:
        for name in names:  # warm the connection pools
            variants[name][0]()
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                call = variants[name][0]
                start = time.perf_counter()
                for _ in range(requests):
                    call()
                best[name] = min(best[name], (time.perf_counter() - start) / requests * 1e6)
    finally:
        for _, close in variants.values():
            close()
        server.shutdown()
        server.server_close()
    return best


def measure_import(runs: int) -> dict[str, float]:
    """Best milliseconds of a fresh interpreter importing each module (minus a bare start)."""
    code = {"python -c pass": "pass", "import httpx": "import httpx"}
    code["import inferwatch.http_client"] = "import inferwatch.http_client"
    best = {name: float("inf") for name in code}
    for _ in range(runs):
        for name, source in code.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", source], check=True)
            best[name] = min(best[name], (time.perf_counter() - start) * 1e3)
    empty = best.pop("python -c pass")
    return {name: ms - empty for name, ms in best.items()}


def main(argv: list[str] | None = None) -> None:
    """Measure, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--import-runs", type=int, default=7)
    args = parser.parse_args(argv)
    rows = []
    for where, in_memory in (("in memory", True), ("loopback", False)):
        per_request = measure_requests(args.requests, args.rounds, in_memory=in_memory)
        peer = per_request["httpx.Client.get (peer)"]
        rows += [
            [where, name, f"{us:.0f}", f"{us / peer:.2f}x"] for name, us in per_request.items()
        ]
    imports = measure_import(args.import_runs)
    peer_import = imports["import httpx"]
    import_rows = [[name, f"{ms:.0f}", f"{ms / peer_import:.2f}x"] for name, ms in imports.items()]
    text = (
        "## Outbound HTTP helper overhead (bench/http_client.py)\n\n"
        f"Machine: {machine()}. Best of {args.rounds} rounds of {args.requests:,} GET requests, "
        "one thread, variants rotated: in memory (``httpx.MockTransport``: the helper's own "
        "cost, no network) and to a keep-alive HTTP server on loopback in this process "
        "(where the network and the server dominate, and this shared machine's noise "
        "shows).\n\n"
        + markdown_table(["transport", "variant", "µs per request", "vs httpx"], rows)
        + f"\n\nImport in a fresh interpreter, best of {args.import_runs}, minus an empty "
        "interpreter's start (tenacity is imported only when a call may be retried):\n\n"
        + markdown_table(["import", "ms", "vs httpx"], import_rows)
        + "\n"
    )
    print(text)
    write_results("http_client", text)


if __name__ == "__main__":
    main()
