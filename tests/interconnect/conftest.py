"""Fixtures of the interconnect tests: a small topology with a unique namespace, provisioned on the test broker.

Each test gets its own vhosts and users (`t<hex>.hub.H60`, ...), so tests of several engineers share the
broker without colliding; everything is removed afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.interconnect import broker
from services.interconnect.topology import AgencySpec, HubSpec, Topology
from tests.interconnect.harness import Network

H60_A = "000.00.00.H60"   # UBND tỉnh Tuyên Quang
H60_B = "000.00.09.H60"   # Sở Nội vụ tỉnh Tuyên Quang
H17_A = "000.00.00.H17"   # UBND thành phố Đà Nẵng
G22 = "000.00.00.G22"     # Văn phòng Chính phủ (attached to the national hub)


def make_topology(ns: str) -> Topology:
    return Topology(
        hubs=(
            HubSpec("national", "Trục liên thông văn bản quốc gia", None, 0),
            HubSpec("H60", "Trục liên thông văn bản tỉnh Tuyên Quang", "national", 0),
            HubSpec("H17", "Trục liên thông văn bản thành phố Đà Nẵng", "national", 0),
        ),
        agencies=(
            AgencySpec(H60_A, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "H60", "Tuyên Quang", 0, 0),
            AgencySpec(H60_B, "Sở Nội vụ tỉnh Tuyên Quang", "SNV", "H60", "Tuyên Quang", 0, 0, parent=H60_A),
            AgencySpec(H17_A, "Ủy ban nhân dân thành phố Đà Nẵng", "UBND", "H17", "Đà Nẵng", 0, 0),
            AgencySpec(G22, "Văn phòng Chính phủ", "VPCP", "national", "Hà Nội", 0, 0),
        ),
        extra={"namespace": f"t{secrets.token_hex(3)}."} if not ns else {"namespace": ns},
    )


@pytest.fixture
def topology(tmp_path) -> Topology:
    return make_topology("")


@pytest.fixture
def provisioned(rabbit_admin, topology, tmp_path) -> Iterator[tuple[Topology, broker.Credentials, Path]]:
    run_dir = tmp_path / "run"
    (run_dir).mkdir()
    topology_file = run_dir / "topology.json"
    topology_file.write_text(topology.to_json())
    try:
        creds = broker.provision(rabbit_admin, topology, run_dir, delivery_limit=3)
        yield topology, creds, run_dir
    finally:
        broker.unprovision(rabbit_admin, topology)


@pytest.fixture
def network(provisioned, stack_env):
    """Hubs and the edges of four agencies as real processes on the module's provisioned topology."""
    topology, creds, run_dir = provisioned
    net = Network(topology, creds, run_dir, {"RABBIT_API_URI": stack_env["RABBIT_API_URI"]})
    try:
        net.start([H60_A, H60_B, H17_A, G22])
        yield net
    finally:
        net.stop()
