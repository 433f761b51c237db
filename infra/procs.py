"""Background processes tracked by PID: start detached in their own process group, stop by group, no leftovers.

A run directory holds `procs.json` (name -> pid, port, health URL, log file). `stop_all` sends SIGTERM to each
process group, waits, then SIGKILLs stragglers, so neither `congvan down` nor a failed test run leaves a process.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Proc:
    name: str
    pid: int
    port: int | None = None
    health_url: str | None = None
    log: str | None = None
    kind: str = "service"
    stop_grace: float = 10.0
    extra: dict = field(default_factory=dict)


class ProcTable:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "procs.json"

    def load(self) -> dict[str, Proc]:
        if not self.path.exists():
            return {}
        return {name: Proc(**data) for name, data in json.loads(self.path.read_text()).items()}

    def save(self, procs: dict[str, Proc]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps({n: asdict(p) for n, p in procs.items()}, indent=2))
        tmp.replace(self.path)

    def add(self, proc: Proc) -> None:
        procs = self.load()
        procs[proc.name] = proc
        self.save(procs)

    def remove(self, name: str) -> None:
        procs = self.load()
        procs.pop(name, None)
        self.save(procs)


def spawn(table: ProcTable, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None,
          port: int | None = None, health_url: str | None = None, kind: str = "service",
          stop_grace: float = 10.0, cwd: str | Path | None = None, user: str | None = None,
          restart: bool = False) -> Proc:
    """Starts `argv` detached and records it. With `restart`, how to start it again is recorded too (argv, the
    environment given here, cwd) for the watcher (infra/watch.py); the table file is then readable by its owner
    only, since that environment holds the process's broker URI."""
    log_dir = table.run_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **(env or {})}
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=full_env, cwd=cwd, start_new_session=True,
        )
    how = {"argv": list(argv), "env": dict(env or {}), "cwd": str(cwd) if cwd else None}
    extra = {"restart": how} if restart else {}
    proc = Proc(name=name, pid=popen.pid, port=port, health_url=health_url, log=str(log_path), kind=kind,
                stop_grace=stop_grace, extra=extra)
    table.add(proc)
    return proc


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie answers kill(0) until its parent reaps it
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return any(alive(int(p)) for p in _pids_in_group(pgid))


def _pids_in_group(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().split(") ", 1)[1].split()
            if int(fields[2]) == pgid:
                pids.append(int(entry))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # the process ended between listdir and read (ESRCH): not in the group any more
    return pids


def stop(proc: Proc, grace: float | None = None) -> None:
    grace = proc.stop_grace if grace is None else grace
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(proc.pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def kill_hard(proc: Proc) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback health URLs
            return 200 <= resp.status < 300
    except Exception:
        return False


def wait_until(check: Callable[[], bool], timeout: float, what: str, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and not alive(proc.pid):
            tail = Path(proc.log).read_text(errors="replace")[-2000:] if proc.log else ""
            raise RuntimeError(f"{what}: process {proc.name} exited during start-up\n{tail}")
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


# Ports handed to processes that bind them later. Not from the kernel's ephemeral range (32768-60999 on Linux):
# there, any outgoing connection made in between (AMQP, HTTP) may take the port first ("Address already in use").
# 25000-25999 holds the test stack's fixed ports.
_PORT_RANGES = ((21000, 24999), (26000, 32000))
_handed: set[int] = set()


def free_port() -> int:
    rng = random.SystemRandom()
    for _ in range(500):
        low, high = rng.choice(_PORT_RANGES)
        port = rng.randint(low, high)
        if port in _handed:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed.add(port)
        return port
    raise RuntimeError("no free port outside the ephemeral range")
