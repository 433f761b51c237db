"""python -m gateway --port 8080 [--metrics-port 9100]: the gateway under uvicorn.

/metrics is not a page of the web port: it is served, with /healthz, by a listener of its own on METRICS_HOST
(127.0.0.1 unless set; infra/deploy sets 0.0.0.0 inside the containers' network, where the port is not published),
so that nobody who reaches the gateway's pages reads its request counts and routes.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from services.common.observability import serve_metrics
from services.common.settings import CommonSettings


def main() -> None:
    settings = CommonSettings()
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--metrics-port", type=int, default=settings.metrics_port,
                        help="Port of /metrics and /healthz (METRICS_PORT; 0: none)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from gateway.app import create_app

    app = create_app()
    serve_metrics(args.metrics_port, host=settings.metrics_host, process="gateway")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False)


if __name__ == "__main__":
    main()
