"""Contract tests: the real producer of every payload that crosses a service boundary, run into its real consumer.

    routing  ──draft_signed──────────► registry.submit_for_issue            (the clerk's "chờ ban hành")
    registry ──outgoing_issued───────► routing.on_outgoing_issued           (the draft: "Đã ban hành", số)
    registry ──outgoing_package──────► edge (edXML) ► hubs ► edge ──► registry.receive_package   (the recipient)
    registry ──incoming_registered───► routing.on_incoming_registered       (handling opened, by the clerk)
    registry ──outgoing_status (03)──► edge ► edge ──► registry.record_status   (the sender follows it)

Each payload goes through JSON (as on the wire) and the consumer's reads are recorded (tests/contracts/recorder.py):
a key the consumer asks for and the producer never writes fails the test, unless this file names it as optional
with the reason. Only the transport is left out (nameko's AMQP, the hubs' queues); the hubs' own change to a
package, the trace, is applied with their function. One story: a công văn of the Tổng hợp department of UBND tỉnh
Tuyên Quang with two appendices, drafted, signed, issued, received and registered in Đà Nẵng.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.common.actor import Actor, Role, system_actor
from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import edxml
from services.interconnect.edge import Edge
from services.interconnect.models import EdgeBase
from services.interconnect.topology import DEMO
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.models import Base as RegistryBase
from services.registry.models import outbox as registry_outbox
from services.registry.numbering import numbering_year
from services.routing.app import Routing
from services.routing.models import Base as RoutingBase
from services.routing.models import outbox as routing_outbox
from services.storage.blobs import LocalBlobStore
from tests.contracts.recorder import Wire

H60, H17 = "000.00.00.H60", "000.00.00.H17"
CHAIN = [{"key": "department", "label": "Lãnh đạo phòng", "roles": ["department_head"], "same_unit": True},
         {"key": "leader", "label": "Lãnh đạo cơ quan", "roles": ["leader"], "signs": True}]
LEGALLY_VALID = {"verdict": "valid", "legally_valid": True, "summary_vi": "Văn bản có giá trị pháp lý.",
                 "signatures": [{"role": "leader", "valid": True}, {"role": "seal", "valid": True}]}

# Keys a consumer reads and its producer may leave out, by design:
SUBMIT_FOR_ISSUE_OPTIONAL = {
    "secrecy",            # a draft is never secret here: secret documents never enter the system (QĐ 28)
    "code_notation",      # a caller may impose one; routing lets the registry make it from type, agency and unit
    "content", "due_date", "page_amount", "to_places", "handlers", "recipients", "pdf_name",
    "signer_position", "signer_full_name",   # submit_for_issue RPC callers' flat form; routing sends `signer`
    "appendix_names",     # names shown for the appendices; without them "Phụ lục 01", "Phụ lục 02", ...
    "paper_signed",       # only a draft the leader signed on paper (routing's paper.py, Hưng Yên Đ6.3a)
}
# the edge adds these only for a successor agency or a hub's refusal (docs/interconnect.md, trust rules)
RECORD_STATUS_OPTIONAL = {"on_behalf_of", "authenticated_sender"}
RECEIVE_PACKAGE_OPTIONAL = {"secrecy", "content", "due_date", "business.target_document_id", "business.replacements",
                            "other.priority"}


def person(user: str, agency: str, *roles: str, unit: str | None = None, name: str = "") -> Actor:
    return Actor(user_id=user, username=user, agency_id=agency, roles=frozenset(roles), full_name=name or user,
                 unit=unit)


SPECIALIST = person("u-trang", H60, Role.SPECIALIST, unit="TH", name="Đỗ Thu Trang")
HEAD = person("u-tuan", H60, Role.DEPARTMENT_HEAD, unit="TH", name="Phạm Minh Tuấn")
LEADER = person("u-an", H60, Role.LEADER, name="Nguyễn Văn An")
CLERK_60 = person("u-hoa", H60, Role.CLERK, unit="VP", name="Lê Thị Hoa")
ADMIN_60 = person("u-manh", H60, Role.ADMIN, unit="VP", name="Hoàng Đức Mạnh")
CLERK_17 = person("u-nam", H17, Role.CLERK, unit="VP", name="Trần Văn Nam")
ADMIN_17 = person("u-admin17", H17, Role.ADMIN, unit="VP", name="Quản trị Đà Nẵng")


class Agency:
    """One agency's registry and routing over SQLite files, its blob store and its edge (no broker)."""

    def __init__(self, organ_id: str, name: str, abbreviation: str, place: str, root, admin: Actor) -> None:
        settings = CommonSettings(agency_id=organ_id, data_dir=root)
        self.organ_id = organ_id
        self.blobs = LocalBlobStore(root / "blobs")
        self.registry = Database("registry", organ_id, RegistryBase.metadata, settings)
        self.routing_db = Database("routing", organ_id, RoutingBase.metadata, settings)
        self.edge_db = Database("edge", organ_id, EdgeBase.metadata, settings)
        for db in (self.registry, self.routing_db, self.edge_db):
            db.create_all()
        self.routing = Routing(self.routing_db, organ_id, sign=self.sign_leader, blobs=self.blobs)
        self.routing.configure(admin, agency_name=name, review_chain=CHAIN)
        self.routing.sync_staff(admin, [
            {"user_id": p.user_id, "username": p.username, "full_name": p.full_name, "unit": p.unit,
             "roles": sorted(p.roles), "position": "Chủ tịch" if Role.LEADER in p.roles else ""}
            for p in (SPECIALIST, HEAD, LEADER, CLERK_60, ADMIN_60, CLERK_17, ADMIN_17) if p.agency_id == organ_id])
        ops.set_agency_profile(self.registry, admin, name, abbreviation, place)
        self.registers = {d: ops.create_register(self.registry, admin, d, numbering_year())["id"]
                          for d in (Direction.INCOMING, Direction.OUTGOING)}
        self.rpc = RegistryRpc(self)
        self.edge = Edge(DEMO, organ_id, None, self.edge_db, self.blobs, self.rpc)  # type: ignore[arg-type]
        self.wires: list[tuple[str, Wire]] = []
        self.sealed_scans: list[str] = []  # PDFs sealed as scans of a paper original (no fields to fill)

    # signing stand-ins: real bytes in the blob store, so that the edge can build the package from them
    def sign_leader(self, pdf_sha256: str, signer_user_id: str, reason: str, on_behalf_of: Any = None,
                    signer_position: str = "", operation_id: str | None = None) -> dict:
        return {"sha256": self.blobs.put_bytes(self.blobs.read(pdf_sha256) + b"\n%leader").sha256}

    def fill_and_seal(self, pdf_sha256: str, number: str, date_text: str, notation: str,
                      appendices: list[str], operation_id: str | None = None, paper_signed: bool = False) -> dict:
        self.sealed_scans += [pdf_sha256] if paper_signed else []
        sealed = self.blobs.put_bytes(self.blobs.read(pdf_sha256) + f"\n%seal {number}/{notation}".encode())
        return {"sha256": sealed.sha256,
                "appendices": [self.blobs.put_bytes(self.blobs.read(a) + f"\n%seal {notation}".encode()).sha256
                               for a in appendices]}

    def outbox(self, db: Database, table, event_type: str) -> list[dict]:
        with db.session() as session:
            return [r.payload for r in session.execute(select(table.c.payload).where(
                table.c.event_type == event_type).order_by(table.c.id))]


class RegistryRpc:
    """The edge's `registry` client: the call goes through JSON and is recorded, the registry's code is real."""

    def __init__(self, agency: Agency) -> None:
        self.agency = agency

    def call(self, service: str, method: str, actor: Actor, payload: dict) -> Any:
        assert service == "registry"
        wire = Wire(payload)
        self.agency.wires.append((method, wire))
        if method == "receive_package":
            return ops.receive_package(self.agency.registry, actor, wire.payload, lambda sha: LEGALLY_VALID)
        return getattr(ops, method)(self.agency.registry, actor, wire.payload)


def pdf(blobs: LocalBlobStore, text: str) -> str:
    return blobs.put_bytes(f"%PDF-1.7\n% {text}\n%%EOF\n".encode()).sha256


def through_hubs(raw: bytes) -> bytes:
    for hub in ("hub.H60", "hub.national", "hub.H17"):
        raw = edxml.append_trace(raw, hub, datetime.now(UTC))
    return raw


@pytest.fixture
def agencies(tmp_path) -> tuple[Agency, Agency]:
    return (Agency(H60, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "Tuyên Quang", tmp_path / "h60", ADMIN_60),
            Agency(H17, "Ủy ban nhân dân thành phố Đà Nẵng", "UBND", "Đà Nẵng", tmp_path / "h17", ADMIN_17))


def signed_draft(tq: Agency) -> tuple[dict, list[str]]:
    appendices = [pdf(tq.blobs, "Phụ lục I: danh sách xã"), pdf(tq.blobs, "Phụ lục II: kinh phí")]
    draft = tq.routing.create_draft(SPECIALIST, "Về việc rà soát hồ sơ công việc năm 2026", pdf(tq.blobs, "dự thảo"),
                                    type_code="CV", appendix_sha256s=appendices)
    tq.routing.submit_draft(SPECIALIST, draft["draft_id"])
    tq.routing.approve_draft(HEAD, draft["draft_id"])
    tq.routing.approve_draft(LEADER, draft["draft_id"], "Đồng ý ban hành")
    return draft, appendices


def test_draft_signed_reaches_waiting_to_issue_with_its_appendices_and_unit(agencies):
    tq, _dn = agencies
    _draft, appendices = signed_draft(tq)
    [event] = tq.outbox(tq.routing_db, routing_outbox, "draft_signed")
    wire = Wire(event)
    doc = ops.submit_for_issue(tq.registry, system_actor(H60, "routing"), wire.payload)
    assert wire.unknown_reads(SUBMIT_FOR_ISSUE_OPTIONAL) == set()

    full = ops.get_document(tq.registry, CLERK_60, doc["id"])
    assert [a["sha256"] for a in full["attachments"] if a["role"] == "appendix"] == appendices
    assert [a["name"] for a in full["attachments"] if a["role"] == "appendix"] == ["Phụ lục 01.pdf",
                                                                                   "Phụ lục 02.pdf"]
    assert full["code_notation"] == "UBND-TH"   # công văn: agency and drafting unit (NĐ 30 Phụ lục I)


def test_issue_sends_the_sealed_appendices_and_the_recipient_sees_them(agencies):
    tq, dn = agencies
    draft, _appendices = signed_draft(tq)
    [event] = tq.outbox(tq.routing_db, routing_outbox, "draft_signed")
    waiting = ops.submit_for_issue(tq.registry, system_actor(H60, "routing"), Wire(event).payload)
    issued = ops.issue_outgoing(tq.registry, CLERK_60, waiting["id"], tq.registers[Direction.OUTGOING],
                                [{"organ_id": H17, "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng"}],
                                tq.fill_and_seal)
    number = issued["number_and_notation"]
    assert number.endswith("/UBND-TH")

    # registry → routing: the draft knows it was issued, under which number
    [done] = tq.outbox(tq.registry, registry_outbox, "outgoing_issued")
    wire = Wire(done)
    tq.routing.on_outgoing_issued(system_actor(H60, "registry"), wire.payload)
    assert wire.unknown_reads() == set()
    view = tq.routing.get_draft(SPECIALIST, draft["draft_id"])
    assert (view["status"], view["issued_number"], view["outgoing_id"]) == ("issued", number, waiting["id"])

    # registry → sender's edge → hubs → recipient's edge → registry.receive_package
    [package] = tq.outbox(tq.registry, registry_outbox, "outgoing_package")
    row = tq.edge.prepare_outgoing(Wire(package).payload)
    dn.edge.take_incoming(through_hubs(tq.blobs.read(row.raw_sha256)), {})
    [(_method, received)] = [(m, w) for m, w in dn.wires if m == "receive_package"]
    assert received.unknown_reads(RECEIVE_PACKAGE_OPTIONAL) == set()

    [incoming] = ops.list_waiting_reception(dn.registry, CLERK_17)["items"]
    doc = ops.get_document(dn.registry, CLERK_17, incoming["id"])
    sealed = [a for a in doc["attachments"] if a["role"] == "appendix"]
    # On the wire the names are letters and digits, at most 50 (Tuyên Quang Đ7.4); "Phụ lục" travels in the
    # description the sender's registry wrote.
    assert len(sealed) == 2 and all(re.fullmatch(r"[A-Za-z0-9]{1,46}\.pdf", a["name"]) for a in sealed)
    assert all("Phụ lục" in (a["description"] or "") for a in sealed), sealed
    for a in sealed:  # the bytes arrived: the sealed appendix, as the sender's registry recorded it
        assert dn.blobs.read(a["sha256"]).endswith(b"%seal UBND-TH")
    assert [a["role"] for a in doc["attachments"]].count("main") == 1
    assert doc["verification_state"] == "valid"

    # recipient registers: 03 back to the sender, and its routing opens the handling as the clerk's act
    ops.accept_incoming(dn.registry, CLERK_17, incoming["id"], dn.registers[Direction.INCOMING])
    [registered] = dn.outbox(dn.registry, registry_outbox, "incoming_registered")
    wire = Wire(registered)
    dn.routing.on_incoming_registered(system_actor(H17, "registry"), wire.payload)
    assert wire.unknown_reads({"code", "promulgation_date"}) == set()  # parsed from document_id when absent
    handling = dn.routing.get_incoming(CLERK_17, incoming["id"])
    assert next((e["action"], e["user_id"]) for e in handling["history"]) == ("registered", CLERK_17.user_id)

    [status] = dn.outbox(dn.registry, registry_outbox, "outgoing_status")
    back = dn.edge.prepare_outgoing(Wire(status).payload)
    tq.edge.take_incoming(edxml.append_trace(dn.blobs.read(back.raw_sha256), "hub.H17", datetime.now(UTC)), {})
    [(_method, recorded)] = [(m, w) for m, w in tq.wires if m == "record_status"]
    assert recorded.unknown_reads(RECORD_STATUS_OPTIONAL) == set()
    sent = ops.get_document(tq.registry, CLERK_60, waiting["id"])
    assert [(r["organ_id"], r["status_code"]) for r in sent["recipients"]] == [(H17, "03")]


def test_a_draft_signed_on_paper_reaches_issue_with_its_scan_and_says_so(agencies):
    """routing's `draft_signed` for a paper signature (Hưng Yên Đ6.3a): the scan is the document, the registry keeps
    who signed on paper and who forwarded it, and issue seals the scan as such. The paper appendix was signed too:
    its scan replaces the approved version's appendix file, is sealed at issue and reaches the recipient in the
    edXML package, the version's file does not."""
    tq, dn = agencies
    tq.routing.set_rules(ADMIN_60, {"paper_signing": "allowed"})
    approved_appendix = pdf(tq.blobs, "Phụ lục: danh mục tài sản (tệp của phiên bản)")
    draft = tq.routing.create_draft(SPECIALIST, "Về việc kiểm kê tài sản năm 2026", pdf(tq.blobs, "dự thảo"),
                                    type_code="CV", appendix_sha256s=[approved_appendix])
    tq.routing.submit_draft(SPECIALIST, draft["draft_id"])
    tq.routing.approve_draft(HEAD, draft["draft_id"])
    tq.routing.approve_on_paper(LEADER, draft["draft_id"], "Đã ký bản giấy")
    scan = pdf(tq.blobs, "bản scan văn bản giấy đã ký")
    appendix_scan = pdf(tq.blobs, "bản scan phụ lục giấy đã ký, đóng dấu")
    tq.routing.forward_paper_scan(SPECIALIST, draft["draft_id"], scan, "",
                                  {"score": 62, "matches": False, "confirmed": True, "version": 1}, [appendix_scan])
    [event] = tq.outbox(tq.routing_db, routing_outbox, "draft_signed")
    wire = Wire(event)
    waiting = ops.submit_for_issue(tq.registry, system_actor(H60, "routing"), wire.payload)
    assert wire.unknown_reads(SUBMIT_FOR_ISSUE_OPTIONAL - {"paper_signed"}) == set()
    full = ops.get_document(tq.registry, CLERK_60, waiting["id"])
    assert [a["sha256"] for a in full["attachments"] if a["role"] == "main"] == [scan]
    assert full["paper_signed"]["approved_by_name"] == LEADER.full_name
    assert full["paper_signed"]["forwarded_by_name"] == SPECIALIST.full_name
    # the scan's check against the approved version (services/routing/scan_match.py), shown to the clerk at issue
    assert full["paper_signed"]["scan_check"] == {"score": 62, "matches": False, "confirmed": True}
    assert full["history"][-1]["details"]["paper_signed"]["forwarded_by"] == SPECIALIST.user_id
    # the clerk's "Cấp số và ban hành" reads these to mark the appendices as scans (drafting_issue.html)
    assert [a["sha256"] for a in full["attachments"] if a["role"] == "appendix"] == [appendix_scan]
    assert (full["paper_signed"]["appendix_scans"], full["paper_signed"]["replaced_appendices"]) == (1, 1)

    ops.issue_outgoing(tq.registry, CLERK_60, waiting["id"], tq.registers[Direction.OUTGOING],
                       [{"organ_id": H17, "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng"}], tq.fill_and_seal)
    assert tq.sealed_scans == [scan]

    # registry → sender's edge: the edXML package carries the sealed scan of the paper appendix as an attachment
    [package] = tq.outbox(tq.registry, registry_outbox, "outgoing_package")
    row = tq.edge.prepare_outgoing(Wire(package).payload)
    raw = tq.blobs.read(row.raw_sha256)
    parsed = edxml.parse(raw)
    sent = [a for a in parsed.attachments if (a.description or "").startswith("Phụ lục")]
    assert len(sent) == 1 and sent[0].data.startswith(tq.blobs.read(appendix_scan))
    assert sent[0].data.endswith(b"%seal UBND-TH")
    assert not any(a.data.startswith(tq.blobs.read(approved_appendix)) for a in parsed.attachments)
    dn.edge.take_incoming(through_hubs(raw), {})
    [(_method, received)] = [(m, w) for m, w in dn.wires if m == "receive_package"]
    assert received.unknown_reads(RECEIVE_PACKAGE_OPTIONAL) == set()
    [incoming] = ops.list_waiting_reception(dn.registry, CLERK_17)["items"]
    doc = ops.get_document(dn.registry, CLERK_17, incoming["id"])
    [appendix] = [a for a in doc["attachments"] if a["role"] == "appendix"]
    assert dn.blobs.read(appendix["sha256"]).startswith(tq.blobs.read(appendix_scan))


def test_the_recorder_catches_the_drift_of_issue_18():
    """The check itself can fail: the registry read `appendices` while routing wrote `appendix_sha256s`."""
    wire = Wire({"draft_id": 1, "appendix_sha256s": [hashlib.sha256(b"a").hexdigest()]})
    assert wire.payload.get("appendices") is None
    assert wire.unknown_reads() == {"appendices"}
