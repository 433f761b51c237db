"""`python -m infra.watch RUN_DIR`: the demo's process supervisor.

Every process of a run directory's table started with `restart=True` (infra/procs.py) is started again when it
has ended: a hub, an edge, an agency process or the gateway that crashed, or an agency process that exited
because one of its service containers died (services/common/agency_process.py, status 70). A production
deployment gets the same from compose's `restart: unless-stopped` or systemd's `Restart=on-failure`.

A process that keeps dying is restarted with a growing delay (1 s, doubling, at most 60 s) so that a crash loop
does not take the machine; each restart is logged with the process's last log lines. `congvan down` stops the
watcher first (it is the last entry of the table), so nothing is restarted while the demo stops.
"""

from __future__ import annotations

import argparse
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from infra import procs

log = logging.getLogger("congvan.watch")
FIRST_DELAY, MAX_DELAY = 1.0, 60.0
STABLE_AFTER = 120.0   # a process that ran this long has recovered: its next death starts the delays anew


@dataclass
class Watch:
    table: procs.ProcTable
    delays: dict[str, float] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    def tick(self, now: float) -> list[str]:
        """Starts again what is due; returns the names restarted."""
        restarted = []
        for name, proc in self.table.load().items():
            how = proc.extra.get("restart")
            if not how or procs.alive(proc.pid):
                continue
            if name not in self.due:
                if now - self.started.get(name, 0.0) > STABLE_AFTER:
                    self.delays.pop(name, None)
                delay = self.delays.get(name, FIRST_DELAY)
                self.due[name] = now + delay
                self.delays[name] = min(delay * 2, MAX_DELAY)
                log.warning("%s (pid %d) has ended; starting it again in %.0f s. Last lines of %s:\n%s", name,
                            proc.pid, delay, proc.log, _tail(proc.log))
            if now >= self.due[name]:
                del self.due[name]
                procs.spawn(self.table, name, how["argv"], env=how["env"], port=proc.port,
                            health_url=proc.health_url, kind=proc.kind, stop_grace=proc.stop_grace,
                            cwd=how.get("cwd"), restart=True)
                self.started[name] = now
                self.restarts[name] = self.restarts.get(name, 0) + 1
                log.warning("%s started again (restart %d)", name, self.restarts[name])
                restarted.append(name)
        return restarted


def _tail(path: str | None, lines: int = 5) -> str:
    if not path or not Path(path).exists():
        return "(no log)"
    with open(path, "rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - 4000))
        return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    watch = Watch(procs.ProcTable(args.run_dir))
    log.info("watching the processes of %s", args.run_dir)
    while not stopping:
        watch.tick(time.monotonic())
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
