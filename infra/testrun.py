"""`congvan test`: the project's one test command (the README's, and what .ci/run calls).

1. installs what is missing (Debian packages; the Python environment is synced by the ./congvan wrapper);
2. ruff over the whole tree;
3. starts the throwaway test stack (RabbitMQ, PostgreSQL, moto S3, Prometheus) unless one is already running,
   in which case it is reused and left running (developers keep one up with `congvan stack up`);
4. pytest in three sessions: the plain one, the eventlet-patched one (in-process nameko containers), and the
   slow chaos job;
5. stops what it started, whatever happened.
Exit status is non-zero if any step failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infra.stack import TEST_PORTS, Stack, ensure_system_packages

REPO = Path(__file__).resolve().parents[1]
TEST_STACK_DIR = Path(os.environ.get("CONGVAN_TEST_STACK_DIR", Path(tempfile.gettempdir()) / "congvan-test-stack"))
NO_TESTS_COLLECTED = 5


def make_test_stack() -> Stack:
    return Stack("cvtest", TEST_STACK_DIR, TEST_PORTS)


def _run(argv: list[str], env: dict[str, str], label: str, allow_empty: bool = False) -> bool:
    print(f"\n=== {label}: {' '.join(argv)}", flush=True)
    started = time.monotonic()
    code = subprocess.run(argv, cwd=REPO, env=env, check=False).returncode
    print(f"=== {label}: exit {code} in {time.monotonic() - started:.0f}s", flush=True)
    return code == 0 or (allow_empty and code == NO_TESTS_COLLECTED)


def run(pytest_args: list[str] | None = None, *, chaos: bool = True, lint: bool = True) -> int:
    ensure_system_packages()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    ok = True
    if lint:
        ok &= _run([sys.executable, "-m", "ruff", "check", "."], env, "ruff")

    stack = make_test_stack()
    reuse = bool(stack.running().get("rabbitmq"))
    if reuse:
        print(f"reusing the running test stack in {stack.run_dir}", flush=True)
    else:
        stack.stop()  # leftovers of a killed run
        stack.start()
    try:
        env.update(stack.env())
        extra = pytest_args or []
        py = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-ra", "--durations=15"]
        ok &= _run([*py, "-m", "not eventlet and not chaos", *extra], env, "tests")
        ok &= _run([sys.executable, "-m", "infra.pytest_eventlet", "-p", "no:cacheprovider", "-ra",
                    "-m", "eventlet", *extra], env, "tests under eventlet", allow_empty=True)
        if chaos:
            ok &= _run([*py, "-m", "chaos", *extra], env, "chaos job", allow_empty=True)
    finally:
        if not reuse:
            stack.stop()
    print("\nALL CHECKS PASSED" if ok else "\nSOME CHECKS FAILED", flush=True)
    return 0 if ok else 1
