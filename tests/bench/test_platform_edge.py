"""The installation edge's bench (bench/platform_edge.py, `python -m bench.platform --edge`) with tiny counts: a real
hub and the installation's real edge process, two rounds of one status per hosted agency. No figure is compared
with a goal (they are the machine's); the test checks that the table is printed with positive figures and that
every hosted agency got its Edge in the edge process (its log line) and only once, the second round reusing it.

The bench runs as a separate process, as it is run by hand; with TMPDIR pointing into the test's directory its
run directories (logs) land there and are checked too: no password is left behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.platform import organ

REPO = Path(__file__).resolve().parents[2]
NUMBER = r"[0-9]+(?:\.[0-9]+)?"
COUNTS = (2, 5)


@pytest.mark.usefixtures("stack_env")
def test_the_edge_bench_prints_its_table_and_every_hosted_agency_got_its_edge(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.platform", "--edge", "--counts", ",".join(map(str, COUNTS)), "--idle", "1",
         "--rounds", "2"], cwd=REPO, env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=500)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-5000:]
    assert re.search(r"^interconnect edge; engine: SQLite \(embedded default\); idle window 1s; load average", out,
                     re.M), out
    rows = {int(m.group(1)): m.groups()[1:] for m in re.finditer(
        rf"^\s+(\d+)\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})\s+(-?{NUMBER})\s+(\d+)$", out, re.M)}
    assert set(rows) == set(COUNTS), out
    for count, (rss, ratio, cpu, _per_agency, files) in rows.items():
        assert float(rss) > 20 and float(ratio) > 0 and float(cpu) >= 0 and int(files) > 0, (count, out)
    assert float(rows[COUNTS[0]][1]) == 1.0
    for count in COUNTS:
        line = re.search(rf"^\s+{count} agencies: +({NUMBER}) MB resident, +({NUMBER})% of a core idle \(edge CPU "
                         rf"for each agency's first package ({NUMBER}) ms per agency\)$", out, re.M)
        assert line and float(line.group(1)) > 0 and float(line.group(3)) > 0, out

        (run_dir,) = tmp_path.glob(f"bench-platform-edge-{count}-*")
        log = (run_dir / "edge.log").read_text()
        made = re.findall(r"installation 000\.00\.00\.H60: edge of (\S+) ready", log)
        # The installation's own at start, then each hosted agency once, at its first package.
        assert sorted(made) == sorted(["000.00.00.H60", *(organ(n) for n in range(1, count + 1))]), log
        assert " ERROR " not in log and " ERROR " not in (run_dir / "hub-H60.log").read_text(), log
        assert not (run_dir / "credentials.json").exists()
