"""Fuzz the edge's handling of statuses (`Edge.take_incoming`, no broker): any author, claimed sender,
document, code and headers. It never raises; the registry hears a status only from a recipient of a
document this agency sent (a 13 only from the sender of one it received, a successor for the agency it
replaced, any hub's refusal); every other status is answered with a 02 to its author, unless it is a 02."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import broker, domain, edxml
from services.interconnect.edge import Edge
from services.interconnect.models import EdgeBase, EdgeInbox
from services.storage.blobs import LocalBlobStore
from tests.interconnect.conftest import G22, H17_A, H60_A, H60_B, make_topology
from tests.interconnect.harness import edoc

pytestmark = pytest.mark.fuzz
TOPOLOGY = make_topology("f.")
MERGED = "000.00.12.H60"   # replaced by H60_B
SENT = edoc(TOPOLOGY, H60_A, [H60_B], 1, [])                  # we sent it to H60_B ...
SENT_MERGED = edoc(TOPOLOGY, H60_A, [H17_A], 2, [])           # ... this one to H17_A and MERGED
SENT_MERGED["to"].append({"organ_id": MERGED, "organ_name": "Sở đã sáp nhập"})
GOT = edoc(TOPOLOGY, H17_A, [H60_A], 3, [])                   # and received this one from H17_A


class Registry:
    """Stands in for the registry's RPC: records what the edge hands over (the rule under test is the edge's)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def call(self, _service: str, method: str, _actor: Any, payload: dict) -> dict:
        self.calls.append((method, payload))
        return {"matched": True}


def _edge() -> tuple[Edge, Registry]:
    root = Path(tempfile.mkdtemp(prefix="fuzz-edge-"))
    db = Database("edge", H60_A, EdgeBase.metadata, CommonSettings(data_dir=root))
    db.create_all()
    registry = Registry()
    edge = Edge(TOPOLOGY, H60_A, broker.Credentials("127.0.0.1", 1), db, LocalBlobStore(root / "blobs"), registry)
    for package in (SENT, SENT_MERGED):
        edge.prepare_outgoing(package)
    with db.session() as s:
        s.add(EdgeInbox(document_id=GOT["document_id"], sender=H17_A, recipient=H60_A, kind="edoc:0",
                        raw_sha256="0" * 64, raw_size=1, received_at=datetime.now(UTC),
                        handed_over_at=datetime.now(UTC)))
    return edge, registry


EDGE, REGISTRY = _edge()
AUTHORS = [H60_B, H17_A, G22, MERGED, "hub.H60", "hub.national"]
DOCUMENTS = [SENT["document_id"], SENT_MERGED["document_id"], GOT["document_id"], "000.00.00.H60,2026/11/21,9/X"]


def allowed(author: str, claimed: str, document_id: str, code: str, predecessors: object) -> bool:
    if author.startswith("hub."):
        return True
    if author != claimed:
        return False
    if code == "13":
        return document_id == GOT["document_id"] and author == H17_A
    recipients = {SENT["document_id"]: {H60_B}, SENT_MERGED["document_id"]: {H17_A, MERGED}}.get(document_id, set())
    stands_for = set(predecessors) if isinstance(predecessors, list) else set()
    return author in recipients or bool(recipients & stands_for)


@settings(settings.get_profile("fuzz"))
@given(author=st.one_of(st.sampled_from(AUTHORS), st.none()), claimed=st.sampled_from(AUTHORS[:4]),
       document_id=st.sampled_from(DOCUMENTS), code=st.sampled_from(["01", "02", "03", "04", "05", "06", "13", "15",
                                                                     "16", "999"]),
       predecessors=st.one_of(st.none(), st.lists(st.sampled_from([MERGED, H17_A, G22, "x"]), max_size=2),
                              st.text(max_size=10)),
       second=st.integers(0, 59))
def test_the_edge_takes_a_status_only_from_a_recipient(author, claimed, document_id, code, predecessors,
                                                       second) -> None:
    status = {
        "kind": "status", "from": {"organ_id": claimed, "organ_name": "x"}, "to": {"organ_id": H60_A},
        "response_for": {"organ_id": H60_A, "code": "1/UBND-VX", "promulgation_date": "2026-11-21",
                         "document_id": document_id},
        "staff": {"department": "", "name": "x", "mobile": "", "email": ""}, "status_code": code,
        "description": "x", "timestamp": f"2026-11-21T10:{second:02d}:00+07:00",
    }
    headers: dict[str, Any] = {domain.H_PREDECESSORS: predecessors}
    if author is not None:
        headers[domain.H_ORIGIN] = author
    before = len(REGISTRY.calls)
    replies = EDGE.take_incoming(edxml.build_status(status), headers)
    handed = REGISTRY.calls[before:]
    effective = author or claimed
    if allowed(effective, claimed, document_id, edxml.normalize_status_code(code), predecessors):
        assert all(method == "record_status" for method, _ in handed)
        assert not [r for r in replies if r.status_code == "02"]
    else:
        assert handed == []  # the registry never hears of it
        answers = [r for r in replies if r.status_code == "02"]
        if code != "02":  # answered once (a duplicate delivery finds the answer already sent)
            assert all(r.recipients == effective for r in answers)
        else:
            assert answers == []
