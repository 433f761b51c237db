"""What a hub process and an edge process share: their command line, logging, and running consumer loops until
SIGTERM or SIGINT with /metrics and /healthz (one check per loop)."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from services.common.observability import Route, serve_metrics
from services.common.settings import CommonSettings

log = logging.getLogger("congvan.interconnect")


class LoopLike(Protocol):
    name: str
    stopping: threading.Event
    connected: threading.Event

    def start(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


def process_arguments(description: str, subject: str, argv: list[str] | None) -> argparse.Namespace:
    """`--<subject>` (the hub's code or the agency's identifier), `--topology`, `--run-dir`, `--metrics-port`;
    logging set up, and `kill -USR1 <pid>` writes every thread's stack to the log (for a stuck process)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(f"--{subject}", required=True)
    parser.add_argument("--topology", required=True, type=Path)
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--metrics-port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    return args


def run_until_signalled(what: str, loops: Sequence[LoopLike], metrics_port: int,
                        routes: Mapping[str, Route] | None = None, on_stop: Callable[[], None] | None = None,
                        **labels: str) -> None:
    """Starts the loops, serves /metrics and /healthz on METRICS_HOST, and stops the loops on SIGTERM/SIGINT
    (`on_stop` first: what must give up waiting so that the loops can end)."""
    for loop in loops:
        loop.start()
    serve_metrics(metrics_port, lambda: {lp.name: lp.connected.is_set() for lp in loops},
                  host=CommonSettings().metrics_host, routes=routes, **labels)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("%s running (%s)", what, ", ".join(lp.name for lp in loops))
    stop.wait()
    if on_stop is not None:
        on_stop()
    for loop in loops:
        loop.stopping.set()
    for loop in loops:
        loop.join(timeout=5)
