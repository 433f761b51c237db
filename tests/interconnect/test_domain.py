"""Pure routing rules: readdressing a replaced recipient to its successor and the edge's acceptance check."""

from __future__ import annotations

from services.interconnect import domain

SUCCESSORS = {"000.00.12.H60": "000.00.09.H60", "000.00.13.H60": "000.00.12.H60"}


def _current(organ: str) -> str:
    while organ in SUCCESSORS:
        organ = SUCCESSORS[organ]
    return organ


def test_readdress_maps_replaced_recipients_only():
    assert domain.readdress(None, ["000.00.12.H60", "000.00.00.H17"], _current) == {"000.00.12.H60": "000.00.09.H60"}
    assert domain.readdress(None, ["000.00.00.H17"], _current) == {}


def test_readdress_keeps_an_earlier_hubs_map_and_chains_through_this_directory():
    earlier = {"000.00.13.H60": "000.00.12.H60"}  # an upstream hub knew only the first merger
    assert domain.readdress(earlier, ["000.00.12.H60"], _current) == {
        "000.00.13.H60": "000.00.09.H60", "000.00.12.H60": "000.00.09.H60"}


def test_an_edge_accepts_its_own_and_readdressed_packages_only():
    assert domain.accepts("000.00.09.H60", ["000.00.09.H60"], None)
    assert domain.accepts("000.00.09.H60", ["000.00.12.H60"], {"000.00.12.H60": "000.00.09.H60"})
    assert not domain.accepts("000.00.09.H60", ["000.00.12.H60"], None)
    assert not domain.accepts("000.00.00.H17", ["000.00.12.H60"], {"000.00.12.H60": "000.00.09.H60"})
