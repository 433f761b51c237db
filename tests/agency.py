"""A real agency process for service tests: started with the services asked for, stopped even when a test fails."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra import procs


@contextmanager
def running_agency_process(services: str, amqp_uri: str, log_path: Path, env: dict[str, str], *,
                           agency: str = "000.00.00.H60", installation: str = "",
                           ready_timeout: float = 90) -> Iterator[int]:
    """Runs `python -m services.common.agency_process` and yields its metrics/health port once /healthz answers.
    `agency=""` with an `installation` name starts an installation process that names no agency."""
    port = procs.free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.common.agency_process", *(["--agency", agency] if agency else []),
             *(["--installation", installation] if installation else []), "--amqp-uri", amqp_uri,
             "--metrics-port", str(port), "--services", services],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            procs.wait_until(lambda: procs.http_ok(f"http://127.0.0.1:{port}/healthz"), ready_timeout,
                             f"agency process ({services})")
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
