"""python -m gateway --port 8080 [--metrics-port 9100] [--workers N]: the gateway under uvicorn.

/metrics is not a page of the web port: it is served, with /healthz, by a listener of its own on METRICS_HOST
(127.0.0.1 unless set; infra/deploy sets 0.0.0.0 inside the containers' network, where the port is not published),
so that nobody who reaches the gateway's pages reads its request counts and routes.

Workers (GATEWAY_WORKERS, --workers; default: as many as the cores this process may run on): one Python process
runs on one core, so a gateway of one process leaves the other cores of the machine idle (issue 16). Every state a
request depends on is in the gateway's database (sessions, CSRF values, lockout counters, API tokens, idempotency
keys, hosted agencies, maintenance notices), so any worker may serve any request. Per worker and harmless: the
RPC clients to the services, the directory's engine, one follower of the shared queue `gateway.push` per
installation (competing consumers: each notification is pushed once, by whichever worker takes it). The request
metrics of all workers are summed on the one /metrics listener (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import tempfile

import uvicorn

from gateway.settings import GatewaySettings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# uvicorn's parent pings each worker and kills one that does not answer within this many seconds (its default, 5,
# is shorter than a worker's start on a loaded machine: the workers were killed and started again and again, and
# one worker served everything)
WORKER_HEALTHCHECK_SECONDS = 60


def default_workers() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def log_config(level: str) -> dict:
    """uvicorn's loggers and the root logger (the gateway's own lines), configured in every worker."""
    from uvicorn.config import LOGGING_CONFIG

    config = {**LOGGING_CONFIG, "formatters": {**LOGGING_CONFIG["formatters"],
                                               "plain": {"format": LOG_FORMAT}}}
    config["handlers"] = {**LOGGING_CONFIG["handlers"],
                          "root": {"class": "logging.StreamHandler", "formatter": "plain",
                                   "stream": "ext://sys.stderr"}}
    config["root"] = {"handlers": ["root"], "level": level.upper()}
    # The secret of a password-reset link never reaches the access log (gateway/password_reset.py).
    config["filters"] = {"hide_link_secret": {"()": "gateway.password_reset.HideLinkSecret"}}
    config["loggers"] = {**LOGGING_CONFIG["loggers"],
                         "uvicorn.access": {**LOGGING_CONFIG["loggers"]["uvicorn.access"],
                                            "filters": ["hide_link_secret"]}}
    return config


def shared_metrics_dir() -> str:
    """Where the workers write their metrics (prometheus_client multiprocess mode); emptied at every start."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        for leftover in os.scandir(given):
            if leftover.name.endswith(".db"):
                os.unlink(leftover.path)
        return given
    made = tempfile.mkdtemp(prefix="congvan-gateway-metrics-")
    atexit.register(shutil.rmtree, made, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made  # the workers inherit it
    return made


def main() -> None:
    settings = GatewaySettings()
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--metrics-port", type=int, default=settings.metrics_port,
                        help="Port of /metrics and /healthz (METRICS_PORT; 0: none)")
    parser.add_argument("--workers", type=int, default=settings.gateway_workers or default_workers(),
                        help="Worker processes (GATEWAY_WORKERS; default: the cores this process may use)")
    args = parser.parse_args()
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    from services.common.observability import serve_metrics

    common = {"host": args.host, "port": args.port, "log_level": settings.log_level.lower(), "proxy_headers": False,
              "access_log": settings.gateway_access_log}
    if args.workers <= 1:
        from gateway.app import create_app

        app = create_app()
        serve_metrics(args.metrics_port, host=settings.metrics_host, process="gateway")
        uvicorn.run(app, **common)
        return
    prepare_database(settings)
    registry = multiprocess_registry(shared_metrics_dir())
    serve_metrics(args.metrics_port, host=settings.metrics_host, registry=registry, process="gateway",
                  workers=str(args.workers))
    uvicorn.run("gateway.app:create_app", factory=True, workers=args.workers, log_config=log_config(
        settings.log_level), timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS, **common)


def prepare_database(settings: GatewaySettings) -> None:
    """The gateway's tables, made once before the workers start (workers creating them together would race: one
    of two workers died at start-up on a duplicate `problem_reports`, which only the workers created)."""
    from gateway.idempotency import IdempotencyBase
    from gateway.models import open_database
    from gateway.problem_models import ProblemBase

    database = open_database(settings)
    database.create_all()
    for metadata in (IdempotencyBase.metadata, ProblemBase.metadata):  # the modules' own tables (their install())
        metadata.create_all(database.engine)
    database.dispose()


def multiprocess_registry(directory: str):
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


if __name__ == "__main__":
    main()
