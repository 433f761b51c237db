"""The demo's supervisor (infra/watch.py) starts again a process that ended, and only those it was asked to."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from infra import procs
from infra.watch import Watch

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def _kill(proc: procs.Proc) -> None:
    procs.kill_hard(proc)
    procs.wait_until(lambda: not procs.alive(proc.pid), 10, f"{proc.name} gone")


def test_an_ended_process_is_started_again_with_its_environment_and_others_are_left_alone(tmp_path: Path):
    table = procs.ProcTable(tmp_path)
    marker = tmp_path / "started.txt"
    argv = [sys.executable, "-c", "import os, time; open(os.environ['MARKER'], 'a').write('x'); time.sleep(600)"]
    kept = procs.spawn(table, "agency", argv, env={"MARKER": str(marker)}, restart=True)
    loose = procs.spawn(table, "oneoff", SLEEPER)
    watch = Watch(table)
    try:
        procs.wait_until(lambda: marker.exists(), 30, "first start")
        assert watch.tick(0.0) == []                       # both alive: nothing to do

        _kill(kept)
        _kill(loose)
        assert watch.tick(10.0) == []                      # noticed, due after the first delay
        assert watch.tick(11.0) == ["agency"]              # started again; the one-off stays down
        again = table.load()["agency"]
        assert again.pid != kept.pid and procs.alive(again.pid)
        assert not procs.alive(table.load()["oneoff"].pid)
        procs.wait_until(lambda: marker.read_text() == "xx", 30, "second start with the same environment")

        # Dying again at once doubles the delay (a crash loop must not take the machine).
        _kill(again)
        assert watch.tick(12.0) == []
        assert watch.tick(13.5) == []                      # 2 s now, not 1 s
        assert watch.tick(14.0) == ["agency"]
    finally:
        for proc in table.load().values():
            procs.stop(proc, grace=2)


def test_the_table_that_holds_start_environments_is_private(tmp_path: Path):
    table = procs.ProcTable(tmp_path)
    proc = procs.spawn(table, "agency", SLEEPER, env={"AMQP_URI": "amqp://u:secret@h/v"}, restart=True)
    try:
        mode = stat.S_IMODE(os.stat(table.path).st_mode)
        assert mode & 0o077 == 0, oct(mode)
    finally:
        procs.stop(proc, grace=2)


def test_the_watcher_runs_as_a_process_and_stops_on_sigterm(tmp_path: Path):
    table = procs.ProcTable(tmp_path)
    victim = procs.spawn(table, "edge", SLEEPER, restart=True)
    watcher = subprocess.Popen([sys.executable, "-m", "infra.watch", str(tmp_path), "--interval", "0.2"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        _kill(victim)
        procs.wait_until(lambda: table.load()["edge"].pid != victim.pid, 30, "the watcher restarting the edge")
        assert procs.alive(table.load()["edge"].pid)
        watcher.terminate()
        out, _ = watcher.communicate(timeout=15)
        assert b"edge started again (restart 1)" in out
    finally:
        if watcher.poll() is None:
            watcher.kill()
        for proc in table.load().values():
            procs.stop(proc, grace=2)
