"""`congvan test`: the project's one test command (the README's, and what .ci/run calls).

1. installs what is missing (Debian packages; the Python environment is synced by the ./congvan wrapper);
2. ruff over the whole tree;
3. starts the throwaway test stack (RabbitMQ, PostgreSQL, moto S3, Prometheus) unless one is already running,
   in which case it is reused and left running (developers keep one up with `congvan stack up`);
4. pytest in three sessions: the plain one (on every core, `parallel`), then the eventlet-patched one
   (in-process nameko containers) alongside the slow chaos job (its output printed when it ends);
5. stops what it started, whatever happened;
6. fails if the run changed a tracked file (a test writing into docs/, a generated file rewritten): the state of
   every tracked file is taken before and after (`tracked_state`), and any file that changed in between is named.
Exit status is non-zero if any step failed.

`congvan screenshots` runs the browser tests that take the README's and the user guide's screenshots with
CONGVAN_PUBLISH_SCREENSHOTS=1, so that they are copied into docs/screenshots/ (tests/screenshots.py); it is the
only command that writes there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infra.axe import ensure_axe
from infra.stack import TEST_PORTS, Stack, ensure_system_packages

REPO = Path(__file__).resolve().parents[1]
TEST_STACK_DIR = Path(os.environ.get("CONGVAN_TEST_STACK_DIR", Path(tempfile.gettempdir()) / "congvan-test-stack"))
NO_TESTS_COLLECTED = 5
SCREENSHOT_TESTS = ["tests/e2e/test_story.py", "tests/e2e/test_guide_screens.py",
                    "tests/e2e/test_phone_layout.py", "tests/signing/test_placement.py",
                    "tests/e2e/test_oversight_browser.py", "tests/e2e/test_keyboard_forms.py", "tests/e2e/test_pwa.py",
                    "tests/e2e/test_paper_mail.py", "tests/e2e/test_recall_browser.py",
                    "tests/e2e/test_late_entry_browser.py", "tests/e2e/test_late_drafting_browser.py",
                    "tests/e2e/test_issuing_channels.py", "tests/e2e/test_copy_send_browser.py",
                    "tests/e2e/test_copy_recall_browser.py",
                    "tests/e2e/test_replace_browser.py", "tests/e2e/test_nested_units_browser.py",
                    "tests/e2e/test_paper_signing.py", "tests/e2e/test_office_rules.py",
                    "tests/e2e/test_entry_for_leader_browser.py", "tests/e2e/test_unit_documents_browser.py",
                    "tests/e2e/test_recipient_groups.py::test_the_admin_makes_a_group_and_the_clerk_sends_to_it_in_the_browser",
                    "tests/e2e/test_recipient_order.py::"
                    "test_recipients_chosen_against_the_directory_order_keep_that_order_to_the_recipient",
                    "tests/e2e/test_platform_onboarding.py::test_the_operator_adds_an_agency_and_announces_maintenance_in_the_browser"]


def make_test_stack() -> Stack:
    return Stack("cvtest", TEST_STACK_DIR, TEST_PORTS)


def _run(argv: list[str], env: dict[str, str], label: str, allow_empty: bool = False) -> bool:
    print(f"\n=== {label}: {' '.join(argv)}", flush=True)
    started = time.monotonic()
    code = subprocess.run(argv, cwd=REPO, env=env, check=False).returncode
    print(f"=== {label}: exit {code} in {time.monotonic() - started:.0f}s", flush=True)
    return code == 0 or (allow_empty and code == NO_TESTS_COLLECTED)


class _Alongside:
    """A pytest session run while another one runs: its output goes to a file and is printed once it has ended
    (`finish`), so that the two sessions' lines do not interleave."""

    def __init__(self, argv: list[str], env: dict[str, str], label: str, allow_empty: bool = False) -> None:
        self.label, self.allow_empty = label, allow_empty
        self.scratch = Path(tempfile.mkdtemp(prefix="congvan-alongside-"))
        # Its own pytest base directory: two sessions numbering and pruning the same one could collide.
        argv = [*argv, f"--basetemp={self.scratch / 'tmp'}"]
        print(f"\n=== {label} (alongside, its output follows when it ends): {' '.join(argv)}", flush=True)
        self.output = open(self.scratch / "output.log", "w+b")  # noqa: SIM115 - closed in finish()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=self.output, stderr=subprocess.STDOUT)

    def finish(self) -> bool:
        code = self.proc.wait()
        try:
            self.output.seek(0)
            print(f"\n=== {self.label}: output", flush=True)
            sys.stdout.buffer.write(self.output.read())
            sys.stdout.flush()
            print(f"=== {self.label}: exit {code} in {time.monotonic() - self.started:.0f}s", flush=True)
        finally:  # even when the reader of our output has gone (a closed pipe)
            self.output.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
        return code == 0 or (self.allow_empty and code == NO_TESTS_COLLECTED)


def parallel(cores: int | None = None) -> list[str]:
    """pytest-xdist's options for the main session: one worker per core (CONGVAN_TEST_WORKERS overrides), whole
    files per worker. Most tests wait on processes they started (an installation, a hub, Chromium), so two
    workers on two cores keep both busy: the main session took 25.7 min alone, 16.4 min on two workers. A file
    stays on one worker because its module fixtures start such processes once for all its tests; every test
    already makes its own vhost, database and ports, so two files never share state. The chaos job too (8.8 ->
    5.8 min: its tests mostly wait out the outages they cause): each worker gets a chaos broker of its own."""
    wanted = os.environ.get("CONGVAN_TEST_WORKERS", "").strip()
    workers = int(wanted) if wanted.isdigit() else min(cores or os.cpu_count() or 1, 4)
    return ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else []


def tracked_state(repo: Path = REPO) -> dict[str, str] | None:
    """Tracked files that differ from the index or HEAD, each with the hash of its content now ("deleted" if gone);
    None outside a git checkout (a source tarball), where there is nothing to compare."""
    try:
        out = subprocess.run(["git", "-C", str(repo), "status", "--porcelain=v1", "-z", "--untracked-files=no"],
                             capture_output=True, check=True).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return None
    entries = out.split("\0")
    state: dict[str, str] = {}
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if not entry:
            continue
        code, path = entry[:2], entry[3:]
        if "R" in code or "C" in code:
            i += 1  # a rename or copy is followed by its source path
        file = repo / path
        state[path] = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "deleted"
    return state


def changed_by_run(before: dict[str, str] | None, after: dict[str, str] | None) -> list[str]:
    """Tracked files whose state differs between two `tracked_state` calls (changes made before the run and left
    as they were do not count)."""
    if before is None or after is None:
        return []
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def _stack_env(stack: Stack) -> tuple[bool, dict[str, str]]:
    reuse = bool(stack.running().get("rabbitmq"))
    if reuse:
        print(f"reusing the running test stack in {stack.run_dir}", flush=True)
    else:
        stack.stop()  # leftovers of a killed run
        stack.start()
    return reuse, stack.env()


def screenshots(pytest_args: list[str] | None = None) -> int:
    """Run the screenshot-taking browser tests and publish their screenshots into docs/screenshots/."""
    ensure_system_packages()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1", "CONGVAN_PUBLISH_SCREENSHOTS": "1"}
    stack = make_test_stack()
    reuse, stack_env = _stack_env(stack)
    try:
        env.update(stack_env)
        ok = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-ra", *SCREENSHOT_TESTS,
                   *(pytest_args or [])], env, "screenshots")
    finally:
        if not reuse:
            stack.stop()
    print("\nScreenshots written to docs/screenshots/ (review with `git status`, then commit)." if ok
          else "\nSOME SCREENSHOT TESTS FAILED: docs/screenshots/ holds only what passed.", flush=True)
    return 0 if ok else 1


def run(pytest_args: list[str] | None = None, *, chaos: bool = True, lint: bool = True) -> int:
    ensure_system_packages()
    ensure_axe()  # the accessibility crawl's checker (tests/e2e/test_phone_layout.py)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    # Never publish from the test command, even if the caller's environment asks for it.
    env.pop("CONGVAN_PUBLISH_SCREENSHOTS", None)
    before = tracked_state()
    ok = True
    if lint:
        ok &= _run([sys.executable, "-m", "ruff", "check", "."], env, "ruff")

    stack = make_test_stack()
    reuse, stack_env = _stack_env(stack)
    try:
        env.update(stack_env)
        extra = pytest_args or []
        py = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-ra", "--durations=15"]
        ok &= _run([*py, *parallel(), "-m", "not eventlet and not chaos", *extra], env, "tests")
        eventlet = [sys.executable, "-m", "infra.pytest_eventlet", "-p", "no:cacheprovider", "-ra", "-m", "eventlet",
                    *extra]
        if chaos:
            # The eventlet session (~45 s of in-process nameko) runs alongside the chaos job's start, which mostly
            # waits (its own broker booting, then a 30 s broker outage): on 2 cores the two fit where one would.
            alongside = _Alongside(eventlet, env, "tests under eventlet", allow_empty=True)
            try:
                ok &= _run([*py, *parallel(), "-m", "chaos", *extra], env, "chaos job", allow_empty=True)
            finally:
                ok &= alongside.finish()
        else:
            ok &= _run(eventlet, env, "tests under eventlet", allow_empty=True)
    finally:
        if not reuse:
            stack.stop()
    changed = changed_by_run(before, tracked_state())
    if changed:
        ok = False
        print(f"\n=== the run changed {len(changed)} tracked file(s); tests must not write into the repository:",
              *changed, sep="\n  ", flush=True)
    print("\nALL CHECKS PASSED" if ok else "\nSOME CHECKS FAILED", flush=True)
    return 0 if ok else 1
