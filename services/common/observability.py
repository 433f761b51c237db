"""Every process serves Prometheus metrics and a health check on its own port.

`serve_metrics(port, health)` starts a small HTTP server in a daemon thread:
  GET /metrics  -> Prometheus text format (the process's default registry)
  GET /healthz  -> 200 {"status": "ok", ...} or 503 with the failing checks
Under eventlet the thread is green, which is what a nameko process wants.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

log = logging.getLogger(__name__)

HealthCheck = Callable[[], dict[str, bool]]
# An extra GET route of a process (e.g. a hub's /report): (path with query, request headers) -> (status, body, type).
Route = Callable[[str, Mapping[str, str]], tuple[int, bytes, str]]

RPC_REQUESTS = Counter(
    "congvan_rpc_requests_total", "RPC calls handled, by service, method and outcome",
    ["agency", "service", "method", "outcome"],
)
RPC_DURATION = Histogram(
    "congvan_rpc_duration_seconds", "RPC handling time", ["agency", "service", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _handler(health: HealthCheck | None, info: dict[str, str], routes: Mapping[str, Route] | None = None,
             registry: CollectorRegistry = REGISTRY) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = (routes or {}).get(self.path.split("?", 1)[0])
            if route is not None:
                try:
                    status, body, ctype = route(self.path, self.headers)
                except Exception:
                    log.exception("route %s failed", self.path.split("?", 1)[0])
                    status, body, ctype = 500, b'{"error": "internal"}', "application/json"
                self._reply(status, body, ctype)
            elif self.path.startswith("/metrics"):
                body = generate_latest(registry)
                self._reply(200, body, CONTENT_TYPE_LATEST)
            elif self.path.startswith("/healthz"):
                checks = {}
                try:
                    checks = health() if health else {}
                except Exception as exc:  # a failing probe is itself a health result
                    log.warning("health check raised: %s", exc)
                    checks = {"probe": False}
                ok = all(checks.values())
                body = json.dumps({"status": "ok" if ok else "failing", "checks": checks, **info}).encode()
                self._reply(200 if ok else 503, body, "application/json")
            else:
                self._reply(404, b"not found\n", "text/plain")

        def _reply(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:  # scrapes every few seconds would flood the log
            return

    return Handler


def serve_metrics(port: int, health: HealthCheck | None = None, host: str = "127.0.0.1",
                  routes: Mapping[str, Route] | None = None, registry: CollectorRegistry = REGISTRY,
                  **info: str) -> ThreadingHTTPServer | None:
    """`routes`: extra GET paths served on the same port (exact path, query string passed through); `registry`:
    what /metrics exports (a multiprocess collector's, for a server of several worker processes)."""
    if not port:
        return None
    server = ThreadingHTTPServer((host, port), _handler(health, info, routes, registry))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"metrics:{port}", daemon=True).start()
    log.info("metrics and health on http://%s:%s/metrics", host, port)
    return server


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start
