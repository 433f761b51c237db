"""What real receivers read in a package we send (issue 17, item 6), on the bytes the real registry and edge
produce: vendor parsers (VNPT/VPCP EdXML102, Bkav's provincial hub, a VNPT gateway) read these elements
unconditionally, and Bkav's hub fails on an empty TraceHeaderList."""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree

from services.common.actor import system_actor
from services.common.clock import VN_TZ, now_vn
from services.interconnect import edxml, outbound
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.models import outbox as registry_outbox
from services.routing.models import outbox as routing_outbox
from tests.contracts.recorder import Wire
from tests.contracts.test_event_contracts import (
    CLERK_60,
    H17,
    H60,
    agencies,  # noqa: F401  (the fixture)
    signed_draft,
)

NS = {"e": edxml.NS_QCVN}
DA_NANG = "Ủy ban nhân dân thành phố Đà Nẵng"


def _issued(tq) -> tuple[dict, dict]:
    _draft, _appendices = signed_draft(tq)
    [event] = tq.outbox(tq.routing_db, routing_outbox, "draft_signed")
    waiting = ops.submit_for_issue(tq.registry, system_actor(H60, "routing"), Wire(event).payload)
    ops.issue_outgoing(tq.registry, CLERK_60, waiting["id"], tq.registers[Direction.OUTGOING],
                       [{"organ_id": H17, "organ_name": DA_NANG}], tq.fill_and_seal)
    [package] = tq.outbox(tq.registry, registry_outbox, "outgoing_package")
    return Wire(package).payload, ops.get_document(tq.registry, CLERK_60, waiting["id"])


def test_a_sent_package_carries_what_real_receivers_read(agencies):  # noqa: F811
    tq, _dn = agencies
    payload, doc = _issued(tq)
    row = tq.edge.prepare_outgoing(payload)
    root = etree.fromstring(tq.blobs.read(row.raw_sha256), etree.XMLParser(huge_tree=True))
    header = root.find("e:edXMLEnvelope/e:edXMLHeader", NS)
    message = header.find("e:MessageHeader", NS)

    # The sender's own TraceHeader, its time in Vietnam time (UTC would be 7 hours off)
    [trace] = header.findall("e:TraceHeaderList/e:TraceHeader", NS)
    assert trace.findtext("e:OrganId", namespaces=NS) == H60
    stamped = datetime.strptime(trace.findtext("e:Timestamp", namespaces=NS), "%Y/%m/%d %H:%M:%S")
    assert abs((stamped.replace(tzinfo=VN_TZ) - now_vn()).total_seconds()) < 3600

    # A Signature element, shaped as the national axis's samples (the legal signatures are in the PDF)
    signature = header.find("e:Signature", NS)
    assert signature is not None
    assert signature.findtext("e:KeyInfo/e:X509Data/e:X509SubjectName", namespaces=NS) == f"CN={H60}"

    # Bussiness/DocumentId names the document, ToPlaces lists where it goes
    document_id = message.findtext("e:DocumentId", namespaces=NS)
    assert header.findtext("e:TraceHeaderList/e:Bussiness/e:DocumentId", namespaces=NS) == document_id
    assert [p.text for p in message.findall("e:ToPlaces/e:Place", NS)] == [DA_NANG]

    # Amounts only when known: never a made-up "1"
    other = message.find("e:OtherInfo", NS)
    page_amount = other.findtext("e:PageAmount", namespaces=NS)
    assert page_amount == (str(doc["page_amount"]) if doc.get("page_amount") else None)
    issued_amount = other.findtext("e:PromulgationAmount", namespaces=NS)
    assert issued_amount == (str(doc["issued_amount"]) if doc.get("issued_amount") else None)

    # Attachment names on the wire: letters and digits, at most 50 (Tuyên Quang Đ7.4), in both places
    names = [n.text for n in root.iter(f"{{{edxml.NS_QCVN}}}AttachmentName")]
    assert names and all(re.fullmatch(r"[A-Za-z0-9]+(\.[a-z0-9]+)?", n) and len(n) <= 50 for n in names), names

    # And our own parser still reads it all back
    parsed = edxml.parse(tq.blobs.read(row.raw_sha256))
    assert parsed.header["trace"][0]["organ_id"] == H60 and parsed.signature_xml is not None


def test_a_package_receivers_would_refuse_is_shown_refused_with_its_reason(agencies):  # noqa: F811
    tq, _dn = agencies
    payload, doc = _issued(tq)
    broken = {**payload, "document_type": {**payload["document_type"], "type": 7}}   # Type must be 1 or 2
    try:
        tq.edge.prepare_outgoing({**broken, "message_id": "strict-1"})
    except edxml.EdxmlError as exc:
        tq.edge.refuse_unsendable(broken, exc)
    else:
        raise AssertionError("strict mode let a package real receivers refuse through")
    after = ops.get_document(tq.registry, CLERK_60, doc["id"])
    [recipient] = [r for r in after["recipients"] if r["organ_id"] == H17]
    assert recipient["status_code"] == "02"
    assert "Không gửi được qua trục liên thông" in recipient["description"]
    assert "Type" in recipient["description"] or "loại văn bản" in recipient["description"]


def test_wire_names_follow_tuyen_quang_article_7_4():
    taken: set[str] = set()
    assert outbound.wire_name("Công văn số 12 về đường giao thông.pdf", taken) == "CongVanSo12VeDuongGiaoThong.pdf"
    assert outbound.wire_name("Công văn số 12 về đường giao thông.PDF", taken) == "CongVanSo12VeDuongGiaoThong2.pdf"
    long = outbound.wire_name("Phụ lục " * 20 + ".docx", taken)
    assert len(long) == 50 and long.endswith(".docx") and long.isascii()
    assert outbound.wire_name("!!!.pdf", taken) == "TepDinhKem.pdf"
    assert outbound.wire_name("bảng kê", taken) == "BangKe"
    assert outbound.wire_name(".hidden", taken) == "Hidden"
