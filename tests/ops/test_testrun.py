"""The test command leaves the repository as it found it (issue 21, item 7): screenshots go to tests/artifacts/
unless `congvan screenshots` asks for docs/screenshots/, and the run fails if it changed a tracked file."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from infra import testrun
from tests import screenshots

REPO = Path(__file__).resolve().parents[2]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_a_tracked_file_changed_during_the_run_is_named(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    for name in ("a.png", "b.md", "c.txt", "d.txt"):
        (repo / name).write_text(name)
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "init")
    (repo / "b.md").write_text("edited by the developer before the run")
    (repo / "c.txt").write_text("edited before, left alone by the run")
    before = testrun.tracked_state(repo)
    assert set(before) == {"b.md", "c.txt"}
    (repo / "a.png").write_bytes(b"rewritten by a test")
    (repo / "b.md").write_text("edited again by a test")
    (repo / "d.txt").unlink()
    (repo / "new.txt").write_text("untracked output")
    after = testrun.tracked_state(repo)
    assert testrun.changed_by_run(before, after) == ["a.png", "b.md", "d.txt"]
    assert testrun.changed_by_run(after, testrun.tracked_state(repo)) == []
    assert testrun.tracked_state(tmp_path / "not-a-repo") is None


def test_screenshots_reach_docs_only_when_asked(tmp_path, monkeypatch):
    shot = tmp_path / "guide-01-dang-nhap.png"
    shot.write_bytes(b"\x89PNG fake")
    docs = tmp_path / "docs" / "screenshots"
    monkeypatch.delenv(screenshots.PUBLISH_ENV, raising=False)
    assert screenshots.publish([shot], docs) == [] and not docs.exists()
    monkeypatch.setenv(screenshots.PUBLISH_ENV, "1")
    assert screenshots.publish([shot], docs) == [docs / shot.name]
    assert (docs / shot.name).read_bytes() == shot.read_bytes()


def test_no_test_writes_into_docs_screenshots_by_itself():
    """Only tests/screenshots.py names docs/screenshots as a place to write; the browser tests go through it."""
    writers = []
    for path in (REPO / "tests").rglob("*.py"):
        if path.name == "screenshots.py" or path == Path(__file__):
            continue
        if re.search(r'"docs"\s*/\s*"screenshots"|docs/screenshots"', path.read_text()):
            writers.append(str(path.relative_to(REPO)))
    assert writers == []
    for name in testrun.SCREENSHOT_TESTS:
        assert "screenshots.publish(" in (REPO / name.split("::")[0]).read_text()  # a file or a test of one


def test_congvan_screenshots_is_a_command():
    out = subprocess.run([str(REPO / ".venv" / "bin" / "congvan"), "--help"], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert re.search(r"\bscreenshots\b", out)


def test_a_chaos_stack_gets_ports_no_outgoing_connection_can_take_first():
    from infra.stack import DEMO_PORTS, TEST_PORTS, free_stack_ports

    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    fixed = {p for ports in (DEMO_PORTS, TEST_PORTS) for p in (ports.amqp, ports.mgmt, ports.postgres, ports.s3,
                                                               ports.prometheus, ports.rabbit_metrics)}
    for _ in range(20):
        ports = free_stack_ports()
        used = set(range(ports.amqp, ports.amqp + 9))
        assert not [p for p in used if low <= p <= high], (ports, (low, high))
        assert not used & fixed


def test_a_session_run_alongside_prints_its_output_only_once_it_ended(capfd):
    import os
    import sys

    script = "import sys; print('from the', 'side', sys.argv[1:]); sys.exit(5)"
    side = testrun._Alongside([sys.executable, "-c", script], dict(os.environ), "side", allow_empty=True)
    assert side.proc.wait() == 5
    assert "from the side" not in capfd.readouterr().out  # not mixed into the session running meanwhile
    assert side.finish()  # 5, no test collected, is allowed here
    out = capfd.readouterr().out
    assert re.search(r"from the side \['--basetemp=.*congvan-alongside-[^/]+/tmp'\]", out), out
    assert "=== side: exit 5 in" in out
    assert not side.scratch.exists()
    failing = testrun._Alongside([sys.executable, "-c", "raise SystemExit(1)"], dict(os.environ), "failing")
    assert not failing.finish()


def test_the_main_session_runs_a_worker_per_core_with_whole_files_unless_told(monkeypatch) -> None:
    monkeypatch.delenv("CONGVAN_TEST_WORKERS", raising=False)
    assert testrun.parallel(2) == ["-n", "2", "--dist", "loadfile"]
    assert testrun.parallel(64) == ["-n", "4", "--dist", "loadfile"]  # each worker starts its own deployment
    assert testrun.parallel(1) == []
    monkeypatch.setenv("CONGVAN_TEST_WORKERS", "1")
    assert testrun.parallel(2) == []
    monkeypatch.setenv("CONGVAN_TEST_WORKERS", "3")
    assert testrun.parallel(2) == ["-n", "3", "--dist", "loadfile"]
