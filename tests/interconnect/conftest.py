"""Fixtures of the interconnect tests: a small topology with a unique namespace, provisioned on the test broker.

`provisioned`: each test gets its own vhosts and users (`t<hex>.hub.H60`, ...), so tests of several engineers
share the broker without colliding; everything is removed afterwards.
`network`: one running network (hubs, edges, stand-in registries) for the whole package, see its docstring.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.interconnect import broker
from services.interconnect.topology import AgencySpec, HubSpec, Topology
from tests.interconnect.harness import provisioned_network

H60_A = "000.00.00.H60"   # UBND tỉnh Tuyên Quang
H60_B = "000.00.09.H60"   # Sở Nội vụ tỉnh Tuyên Quang
H17_A = "000.00.00.H17"   # UBND thành phố Đà Nẵng
G22 = "000.00.00.G22"     # Văn phòng Chính phủ (attached to the national hub)
MERGED = "000.00.12.H60"  # a Tuyên Quang department merged into Sở Nội vụ (H60_B) in 2025


def make_topology(ns: str, *more: AgencySpec) -> Topology:
    """The four agencies on three hubs, and `more` (an agency on an HTTP axis: `hub` lgsp or vdxp)."""
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
            *more,
        ),
        extra={"namespace": f"t{secrets.token_hex(3)}."} if not ns else {"namespace": ns},
    )


def directory_records(topology: Topology, *more: dict, served_by: dict[str, str] | None = None) -> list[dict]:
    """The topology's agencies as records of the hubs' directory (`extra.directory`), then `more`. An agency on an
    HTTP axis is the directory's as served by the hub `served_by` names for its axis (lgsp: H60, vdxp: national)."""
    served_by = served_by or {}
    return [*({"organ_id": a.organ_id, "name": a.name, "hub": served_by.get(a.hub, a.hub), "parent": a.parent}
              for a in topology.agencies), *more]


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


def network_topology() -> Topology:
    """The shared network's topology: its directory also holds an agency merged into H60_B in 2025, whose
    packages the hubs deliver to the successor (tests/interconnect/test_relay_lifecycle.py)."""
    topology = make_topology("")
    topology.extra["directory"] = directory_records(
        topology, {"organ_id": MERGED, "name": "Sở Lao động - Thương binh và Xã hội tỉnh Tuyên Quang", "hub": "H60",
                   "parent": H60_A, "valid_to": "2025-06-30", "successor": H60_B})
    return topology


@pytest.fixture(scope="package")
def network(rabbit_admin, stack_env, tmp_path_factory):
    """Hubs and the edges and stand-in registries of four agencies as real processes, started once for every
    test of the package that asks for it: starting eleven processes costs ~20 s of CPU, more than the tests
    themselves. The tests share it safely because each sends documents of its own (distinct numbers, hence
    distinct document and message ids), waits for what it sent and asserts only about those; none stops or
    kills one of its processes (tests that do build their own `Network`)."""
    topology = network_topology()
    with provisioned_network(rabbit_admin, stack_env, topology, tmp_path_factory.mktemp("network") / "run") as net:
        net.start([H60_A, H60_B, H17_A, G22])
        yield net
