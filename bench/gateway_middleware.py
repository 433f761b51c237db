"""The gateway's per-request middleware: one pure ASGI class (gateway.app.ObservedRequests) against the two
`@app.middleware("http")` functions (Starlette's BaseHTTPMiddleware) it replaced, in the same run.

    .venv/bin/python -m bench.gateway_middleware

Both wrap the same trivial route, called in-process through httpx's ASGI transport (no sockets), so the figure is
the middleware's own cost per request: audit holder, RED metrics, security headers.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
from fastapi import FastAPI, Request

from gateway.app import PAGE_DURATION, PAGE_REQUESTS, ObservedRequests
from services.common import audit

REQUESTS = 2000
ROUNDS = 5


def route(app: FastAPI) -> FastAPI:
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def before() -> FastAPI:
    """What gateway/app.py had: two BaseHTTPMiddleware functions."""
    app = route(FastAPI())

    @app.middleware("http")
    async def audit_actor(request: Request, call_next):
        token = audit.begin_request(f"{request.method} {request.url.path}")
        try:
            return await call_next(request)
        finally:
            audit.end_request(token)

    @app.middleware("http")
    async def red_metrics(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        path = getattr(request.scope.get("route"), "path", "unmatched")
        PAGE_REQUESTS.labels(path, request.method, f"{response.status_code // 100}xx").inc()
        PAGE_DURATION.labels(path, request.method).observe(time.perf_counter() - started)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app


def after() -> FastAPI:
    app = route(FastAPI())
    app.add_middleware(ObservedRequests)
    return app


async def per_second(app: FastAPI) -> float:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for _ in range(50):  # warm up
            await client.get("/healthz")
        started = time.perf_counter()
        for _ in range(REQUESTS):
            r = await client.get("/healthz")
            assert r.status_code == 200
        return REQUESTS / (time.perf_counter() - started)


def main() -> None:
    old, new = [], []
    for _ in range(ROUNDS):  # interleaved, so a busy machine slows both alike
        old.append(asyncio.run(per_second(before())))
        new.append(asyncio.run(per_second(after())))
    o, n = statistics.median(old), statistics.median(new)
    print(f"BaseHTTPMiddleware x2 : {o:8.0f} requests/s (median of {ROUNDS} x {REQUESTS})")
    print(f"pure ASGI (one class) : {n:8.0f} requests/s")
    print(f"ratio                 : {n / o:.2f}x")


if __name__ == "__main__":
    main()
