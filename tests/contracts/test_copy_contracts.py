"""Contract test of sending an electronic copy (bản sao điện tử; NĐ 30/2020/NĐ-CP Điều 25–27): the real producer into
the real consumer.

    registry.make_copy ─► registry.send_copy ──outgoing_package──► edge (edXML) ► hubs ► edge
        ──► registry.receive_package (the recipient's clerk sees a copy, every file in order)
        ──► 03 back ──► registry.record_status (the copy's line at the sender)

Same harness as test_event_contracts.py: the payload goes through JSON, the edges build and parse real edXML, and
a key the consumer reads that the producer never wrote fails the test. The copy is a sao y of a paper arrival (its
scan, a PDF appendix and a Word appendix), so the package carries a sealed main file, a sealed appendix and a file
copied as it is.
"""

from __future__ import annotations

import hashlib

import pytest

from services.common.errors import NotFound, ValidationFailed
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.models import outbox as registry_outbox
from services.registry.numbering import numbering_year
from tests.contracts.recorder import Wire
from tests.contracts.test_event_contracts import (
    ADMIN_60,
    CLERK_17,
    CLERK_60,
    H17,
    LEADER,
    RECEIVE_PACKAGE_OPTIONAL,
    RECORD_STATUS_OPTIONAL,
    Agency,
    through_hubs,
)
from tests.contracts.test_event_contracts import agencies as agencies
from tests.contracts.test_recall_contracts import DA_NANG, last_wire, relay

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _stored(agency: Agency, data: bytes, name: str, content_type: str, role: str, description: str = "") -> dict:
    agency.blobs.put_bytes(data)
    return {"sha256": hashlib.sha256(data).hexdigest(), "name": name, "content_type": content_type,
            "size": len(data), "role": role, "description": description}


def _copy(tq: Agency) -> dict:
    """A sao y of a paper arrival with two appendices, sealed by a stand-in that marks each PDF."""
    copies = ops.create_register(tq.registry, ADMIN_60, Direction.COPIES, numbering_year())["id"]
    files = [_stored(tq, b"%PDF-1.7\n% scan cong van giay\n%%EOF\n", "scan.pdf", "application/pdf", "scan"),
             _stored(tq, b"%PDF-1.7\n% phu luc 01\n%%EOF\n", "Phụ lục 01.pdf", "application/pdf", "appendix",
                     "Phụ lục 01"),
             _stored(tq, b"PK\x03\x04 danh sach", "Phụ lục 02.docx", DOCX, "appendix", "Phụ lục 02")]
    paper = ops.register_paper_incoming(tq.registry, CLERK_60, {
        "code_number": "45", "code_notation": "SNV-TCBC", "subject": "Về việc tuyển dụng công chức",
        "organ_name": "Sở Nội vụ tỉnh Tuyên Quang", "issued_date": "2026-01-03", "channel": "email"}, files)

    def seal(pdf_sha256: str, text: str, operation_id: str | None = None) -> dict:
        return {"sha256": tq.blobs.put_bytes(tq.blobs.read(pdf_sha256) + f"\n%copy {operation_id}".encode()).sha256}

    made = ops.make_copy(tq.registry, CLERK_60, paper["id"], "SY", copies, seal)
    return ops.get_document(tq.registry, CLERK_60, made["id"])


def _packages(tq: Agency) -> list[dict]:
    return tq.outbox(tq.registry, registry_outbox, "outgoing_package")


def test_a_copy_is_sent_with_every_file_in_order_received_as_a_copy_and_followed(agencies):
    tq, dn = agencies
    copy = _copy(tq)
    assert [a["role"] for a in copy["attachments"]] == ["signed", "appendix_signed", "appendix"]

    sent = ops.send_copy(tq.registry, CLERK_60, copy["id"], [DA_NANG])
    assert sent["sent_to"] == [H17] and not sent["duplicate"]
    [package] = _packages(tq)
    assert package["code_notation"] == "SY-UBND" and package["from"]["organ_id"] == tq.organ_id
    assert package["document_id"] == f"{tq.organ_id},{copy['issued_date'].replace('-', '/')},01/SY-UBND"
    assert package["document_type"]["type_name"] == "Bản sao y" and package["business"]["paper"] == 0
    assert package["content"] == ("Sao y văn bản số 45/SNV-TCBC ngày 03/01/2026 của Sở Nội vụ tỉnh Tuyên Quang")
    assert package["response_for"] == []   # the original is not a document this copy answers

    [arrived] = relay(tq, dn, package)
    assert arrived.status_code == "01"
    assert last_wire(dn, "receive_package").unknown_reads(RECEIVE_PACKAGE_OPTIONAL) == set()
    [waiting] = ops.list_waiting_reception(dn.registry, CLERK_17)["items"]
    assert waiting["copy_form"] == "SY" and waiting["number_and_notation"] == "01/SY-UBND"
    received = ops.get_document(dn.registry, CLERK_17, waiting["id"])
    assert received["organ_id"] == tq.organ_id and received["content"] == package["content"]
    # every file, in the copy's order, byte for byte: the sealed scan, the sealed appendix, the Word file as is
    assert [a["role"] for a in received["attachments"]] == ["main", "appendix", "appendix"]
    assert [dn.blobs.read(a["sha256"]) for a in received["attachments"]] == [
        tq.blobs.read(a["sha256"]) for a in copy["attachments"]]
    assert [a["description"] for a in received["attachments"][1:]] == ["Phụ lục 01", "Phụ lục 02"]
    assert received["verification_state"] == "valid"

    # registered like any incoming document; the 03 comes back to the copy's line
    ops.accept_incoming(dn.registry, CLERK_17, waiting["id"], dn.registers[Direction.INCOMING])
    relay(dn, tq, dn.outbox(dn.registry, registry_outbox, "outgoing_status")[-1], hubs=False)
    assert last_wire(tq, "record_status").unknown_reads(RECORD_STATUS_OPTIONAL) == set()
    followed = ops.get_document(tq.registry, CLERK_60, copy["id"])
    assert [(r["organ_id"], r["status_code"]) for r in followed["recipients"]] == [(H17, "03")]
    assert [h["action"] for h in followed["history"]].count("copy_sent") == 1

    # sent again (a second click, a redelivered request): nothing leaves, the line is not reset
    again = ops.send_copy(tq.registry, CLERK_60, copy["id"], [DA_NANG])
    assert again["duplicate"] and again["sent_to"] == [] and len(_packages(tq)) == 1
    # the same package redelivered by the transport: the recipient keeps one document
    dn.edge.take_incoming(through_hubs(tq.blobs.read(tq.edge.prepare_outgoing(Wire(package).payload).raw_sha256)),
                          {})
    assert ops.list_incoming(dn.registry, CLERK_17)["total"] == 1
    assert ops.list_waiting_reception(dn.registry, CLERK_17)["total"] == 0


def test_a_copy_goes_only_to_new_recipients_and_wrong_requests_are_refused(agencies):
    tq, dn = agencies
    copy = _copy(tq)
    ops.send_copy(tq.registry, CLERK_60, copy["id"], [DA_NANG])
    g22 = {"organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ"}
    more = ops.send_copy(tq.registry, CLERK_60, copy["id"], [DA_NANG, g22])
    assert more["sent_to"] == ["000.00.00.G22"]
    assert [[t["organ_id"] for t in p["to"]] for p in _packages(tq)] == [[H17], ["000.00.00.G22"]]

    with pytest.raises(ValidationFailed) as exc:
        ops.send_copy(tq.registry, CLERK_60, copy["id"], [])
    assert exc.value.code == "missing_field"
    with pytest.raises(ValidationFailed) as exc:
        ops.send_copy(tq.registry, CLERK_60, copy["id"], [{"organ_id": tq.organ_id}])
    assert exc.value.code == "own_agency"
    with pytest.raises(ValidationFailed) as exc:
        ops.send_copy(tq.registry, CLERK_60, copy["id"], [{"organ_id": "VP", "channel": "internal"}])
    assert exc.value.code == "bad_channel"
    with pytest.raises(Exception) as exc:
        ops.send_copy(tq.registry, LEADER, copy["id"], [DA_NANG])
    assert getattr(exc.value, "http_status", None) == 403
    with pytest.raises(NotFound):   # in another agency, this copy's id looks like a missing one
        ops.send_copy(dn.registry, CLERK_17, copy["id"], [g22])
    source = next(lk["to"] for lk in copy["links"] if lk["kind"] == "copy_of")
    with pytest.raises(NotFound):   # only a copy is sent here
        ops.send_copy(tq.registry, CLERK_60, source, [DA_NANG])
    assert len(_packages(tq)) == 2
