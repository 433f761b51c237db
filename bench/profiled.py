"""Run a module with every thread under cProfile, one profile file per thread (cProfile sees only the thread
that enabled it, and a hub's work is in its loop threads).

    python -m bench.profiled DIR services.interconnect.hub --hub H60 ...

Writes DIR/<pid>-<thread name>.prof when each thread ends (the hub's loops end on SIGTERM) and the main
thread's at exit. Read them with `python -m bench.profiled --show DIR/…prof [DIR/…prof …]`.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import pstats
import re
import runpy
import sys
import threading
import time
from pathlib import Path


def _dump(profile: cProfile.Profile, out: Path, name: str) -> None:
    profile.disable()
    profile.dump_stats(out / f"{os.getpid()}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.prof")


def run(out: Path, module: str, argv: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    start = threading.Thread.start

    def profiled_start(self: threading.Thread) -> None:
        # The instance's own run (subclasses such as the hub's loops override it), wrapped before it starts.
        body = self.run

        def profiled() -> None:
            profile = cProfile.Profile(time.thread_time)  # CPU, not wall-clock time
            profile.enable()
            try:
                body()
            finally:
                _dump(profile, out, self.name)

        self.run = profiled  # type: ignore[method-assign]
        start(self)

    threading.Thread.start = profiled_start  # type: ignore[method-assign]
    main = cProfile.Profile(time.thread_time)
    main.enable()
    atexit.register(_dump, main, out, "main")
    sys.argv = [module, *argv]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def show(paths: list[str], limit: int = 40) -> None:
    stats = pstats.Stats(*paths)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)


if __name__ == "__main__":
    if sys.argv[1] == "--show":
        show(sys.argv[2:])
    else:
        run(Path(sys.argv[1]), sys.argv[2], sys.argv[3:])
