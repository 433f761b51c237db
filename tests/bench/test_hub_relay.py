"""The relay bench's smoke run (bench/hub_relay.py): a handful of packages through every path it measures, the
raw chain baseline among them, and what it prints. No figure is asserted (timings are the machine's), only that
every path carried every package and that each figure is printed.

The bench runs as a separate process, as it is run by hand; with TMPDIR pointing into the test's directory its
run directory (logs, credentials) lands there and is checked for what must not be left behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def run_bench(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[str, Path]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.hub_relay", "--count", "6", "--paced", "2", *args], cwd=REPO,
        env={**env, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    (run_dir,) = tmp_path.glob("bench-hub-relay-*")
    return result.stdout, run_dir


def assert_both_baselines(out: str, run_dir: Path) -> None:
    for path in (r"raw: pika publish\+confirm -> consume \(1 q\)", r"raw chain: H60 -> national -> H17 \(3 q\)",
                 "relay through three hubs"):
        assert re.search(rf"^{path}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER} min$", out, re.M), out
    assert re.search(rf"latency p50/p99 ms: raw {NUMBER}/{NUMBER}, chain {NUMBER}/{NUMBER}, relay {NUMBER}/{NUMBER}$",
                     out, re.M), out
    assert re.search(rf"^other work on the machine during each flood .*: raw {NUMBER}, chain {NUMBER}, relay {NUMBER}$",
                     out, re.M), out
    assert re.search(rf"^ratio relay/raw \(packages/s\): {NUMBER} \(raw: one queue of one broker\)$", out, re.M), out
    assert re.search(rf"^ratio relay/raw chain \(packages/s\): {NUMBER} \(.*goal >= 0\.5: (met|NOT met)\)$",
                     out, re.M), out
    assert re.search(rf"^a national day \(30,000 packages between two provinces\) at the relay's rate: {NUMBER} min "
                     r"\(goal < 5 min\): (met|NOT met)$", out, re.M), out
    assert re.search(rf"^hub CPU per package per hop \(ms\): national {NUMBER}, H60 {NUMBER}, H17 {NUMBER};", out,
                     re.M), out
    assert re.search(rf"^chain forwarder CPU per package per hop \(ms\): H60->national {NUMBER}, "
                     rf"national->H17 {NUMBER}$", out, re.M), out
    # Each forwarder ran as its own process and moved its queue into the next hub's vhost.
    for source, target in (("H60", "national"), ("national", "H17")):
        log = (run_dir / f"chain-{source}.log").read_text()
        assert re.search(rf"forwarding \S+hub\.{source}/bench\.chain -> \S+hub\.{target}/bench\.chain", log), log
        assert " ERROR " not in log, log
    # The forwarders' specs (a broker password, the path of a private key) do not outlive the run.
    assert not list(run_dir.glob("chain-*.json"))


def test_three_brokers_prints_the_raw_chain_beside_the_relay(tmp_path):
    out, run_dir = run_bench(tmp_path, dict(os.environ), "--brokers", "three")
    assert "three brokers, links over AMQPS (mutual TLS)" in out
    assert re.search(rf"^broker CPU per package, raw \(ms\): H60 {NUMBER}$", out, re.M), out
    assert re.search(rf"^CPU per package, every process of the path .*: raw {NUMBER}, chain {NUMBER}, relay {NUMBER}; "
                     rf"chain/relay {NUMBER}:", out, re.M), out
    for key, movers in (("relay", "hubs"), ("chain", "forwarders")):
        assert re.search(rf"^broker CPU per package, {key} \(ms\): national {NUMBER}, H60 {NUMBER}, H17 {NUMBER}; "
                         rf"{movers} {NUMBER} ms, brokers {NUMBER} ms", out, re.M), out
    assert_both_baselines(out, run_dir)
    assert not (run_dir / "tls").exists()   # the minted keys went with the nodes
    # The links were AMQPS: each forwarder's target connection did a TLS handshake.
    for source in ("H60", "national"):
        assert "SSL handshake completed" in (run_dir / f"chain-{source}.log").read_text()


@pytest.mark.usefixtures("stack_env")
def test_one_broker_prints_the_raw_chain_across_the_hubs_vhosts(tmp_path):
    out, run_dir = run_bench(tmp_path, dict(os.environ))
    assert "; one broker" in out
    # The test stack's broker is shared: its CPU, and so the whole path's, is not this run's alone.
    assert not re.search(r"^(broker )?CPU per package", out, re.M), out
    assert_both_baselines(out, run_dir)
