"""The edXML codec against the national axis's and a provincial vendor's real packages (tests/fixtures/edxml, copied
from the project's conformance set so that a fresh clone has them).

Every conformance file parses; re-emitting it gives the same header field by field, the same attachment
bytes, and the same elements in the same order with the same prefixes and texts as the sample.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from services.common.clock import VN_TZ
from services.common.settings import REPO_ROOT
from services.interconnect import edxml

CONFORMANCE = Path(os.environ.get("CONGVAN_CONFORMANCE_DIR", REPO_ROOT / "tests" / "fixtures" / "edxml"))
FILES = sorted(path.name for path in CONFORMANCE.glob("*.edxml"))


def test_the_twelve_conformance_files_are_there():
    assert len(FILES) == 12, f"conformance files expected in {CONFORMANCE}"


def _read(name: str) -> bytes:
    return (CONFORMANCE / name).read_bytes()


def _rebuild(parsed: edxml.ParsedPackage) -> bytes:
    if parsed.kind == "status":
        return edxml.build_status(parsed.header)
    zipped = any(attachment.zipped_on_wire for attachment in parsed.attachments)
    return edxml.build_edoc(parsed.header, [(a.meta(), a.data) for a in parsed.attachments],
                            zip_attachments=zipped)


def _shape(data: bytes) -> list[tuple[int, str | None, str, str | None]]:
    """(depth, prefix, local name, text) of every element, the envelope's XML-DSig left out (we do not emit
    one: the legal signatures are in the PDFs) and base64 payloads blanked (zips differ in their metadata)."""
    # Trusted test data: the hardened parser is the codec's business; huge_tree only because payloads are big.
    root = etree.fromstring(data, etree.XMLParser(huge_tree=True, remove_comments=True))
    rows: list[tuple[int, str | None, str, str | None]] = []

    def walk(element: etree._Element, depth: int) -> None:
        name = etree.QName(element).localname
        if name == "Signature":
            return
        text = None if len(element) or name == "ContentTransferEncoded" else (element.text or "").strip()
        rows.append((depth, element.prefix, name, text))
        for child in element:
            walk(child, depth + 1)

    walk(root, 0)
    return rows


@pytest.mark.parametrize("name", FILES)
def test_conformance_file_round_trips_field_by_field(name):
    original = edxml.parse(_read(name))
    again = edxml.parse(_rebuild(original))

    assert again.kind == original.kind
    assert set(again.header) == set(original.header)
    for key, value in original.header.items():
        assert again.header[key] == value, key
    assert [(a.name, a.sha256, a.data) for a in again.attachments] == \
           [(a.name, a.sha256, a.data) for a in original.attachments]


@pytest.mark.parametrize("name", FILES)
def test_emitted_package_has_the_samples_shape_element_by_element(name):
    sample = _read(name)
    emitted = _rebuild(edxml.parse(sample))
    assert _shape(emitted) == _shape(sample)
    assert emitted.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="' + edxml.NS_QCVN.encode())


@pytest.mark.parametrize("name", FILES)
def test_peek_agrees_with_parse(name):
    data = _read(name)
    parsed, peeked = edxml.parse(data), edxml.peek(data)
    assert peeked["kind"] == parsed.kind
    assert peeked["trace"] == parsed.header["trace"]
    assert peeked["namespace"] == edxml.NS_QCVN
    if parsed.kind == "edoc":
        assert peeked["document_id"] == parsed.header["document_id"]
        assert peeked["from"] == parsed.header["from"]["organ_id"]
        assert peeked["to"] == [item["organ_id"] for item in parsed.header["to"]]
        assert peeked["doc_type"] == parsed.header["business"]["doc_type"]
    else:
        assert peeked["document_id"] == parsed.header["response_for"]["document_id"]
        assert peeked["to"] == [parsed.header["to"]["organ_id"]]
        assert peeked["status_code"] == parsed.header["status_code"]


def test_new_document_sample_keeps_odd_values_and_decodes_the_zipped_attachment():
    parsed = edxml.parse(_read("vpcp-edoc_new.edxml"))
    header = parsed.header
    assert header["code_number"] == "74fass22"              # odd CodeNumber kept as-is
    assert header["to"][0]["organ_id"] == "28.22.H17"        # malformed recipient id kept as sent
    assert header["document_id"] == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert header["business"]["target_document_id"] == "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"
    assert header["promulgation_date"] == "2019-01-16"
    assert header["due_date"] == "2018-09-28"
    assert header["trace"] == [{"organ_id": "000.00.00.G22", "timestamp": "2018-09-28T00:00:00+07:00"}]
    assert header["other"]["direction"] is False
    assert header["steering_type"] == 1
    assert "message_id" not in header
    (attachment,) = parsed.attachments
    assert attachment.zipped_on_wire and attachment.content_id == "cid:209"
    assert attachment.name == "1896_QD-TTg_m_294779.doc" and attachment.content_type == "application/msword"
    assert attachment.size == len(attachment.data) == 388347
    assert attachment.sha256 == hashlib.sha256(attachment.data).hexdigest()
    assert header["attachments"] == [attachment.meta()]
    assert parsed.signature_xml and b"X509SubjectName" in parsed.signature_xml


def test_revocation_and_update_samples_carry_their_business_parts():
    revocation = edxml.parse(_read("vpcp-edoc_revocation.edxml")).header
    assert revocation["business"]["doc_type"] == 1
    assert revocation["response_for"] == [{"organ_id": "000.00.00.H14", "code": "267/VPCP-TTĐT",
                                           "promulgation_date": "2018-09-28",
                                           "document_id": "000.00.04.G14,2012/08/06,267/VPCP-TTĐT"}]
    update = edxml.parse(_read("bkav-edoc_update.edxml")).header
    assert update["business"]["doc_type"] == 2
    assert update["business"]["document_info"] == {
        "document_info": 1, "document_receiver": 1,
        "receivers": [{"organ_id": "000.00.00.H41", "receiver_type": 0},
                      {"organ_id": "000.00.00.H14", "receiver_type": 1}]}


def test_take_back_status_goes_to_the_original_recipient():
    header = edxml.parse(_read("vpcp-status_cancellation_13.edxml")).header
    assert header["status_code"] == "13"
    assert header["from"]["organ_id"] == "000.00.00.G22"
    assert header["to"] == {"organ_id": "000.00.00.H41"}
    assert header["timestamp"] == "2015-09-20T11:08:36+07:00"
    assert header["staff"] == {"department": "Phong hanh chinh", "name": "Nguyen thi ngoc tram",
                               "mobile": "84912000001", "email": "ngoctram@nghean.vn"}


def test_numeric_status_code_5_is_read_as_05():
    data = _read("vpcp-status_processing_05.edxml").replace(b">05</edXML:StatusCode>", b">5</edXML:StatusCode>")
    assert edxml.parse(data).header["status_code"] == "05"
    assert edxml.peek(data)["status_code"] == "05"


def test_day_first_dates_are_accepted():
    data = (_read("vpcp-status_processing_05.edxml")
            .replace(b"<edXML:PromulgationDate>2015/09/30<", b"<edXML:PromulgationDate>30/09/2015<")
            .replace(b"<edXML:Timestamp>2015/09/20 11:08:36<", b"<edXML:Timestamp>20/09/2015 11:08:36<"))
    header = edxml.parse(data).header
    assert header["response_for"]["promulgation_date"] == "2015-09-30"
    assert header["timestamp"] == "2015-09-20T11:08:36+07:00"
    assert b"<edXML:Timestamp>2015/09/20 11:08:36</edXML:Timestamp>" in edxml.build_status(header)


def test_go_vn_namespace_variant_is_accepted():
    text = _read("vpcp-status_inbox_01.edxml").decode()
    body = text[text.index("<edXML:edXMLHeader>"):text.index("</edXML:edXMLEnvelope>")]
    govn = ('<?xml version="1.0" encoding="UTF-8"?>\n<edXMLEnvelope xmlns="http://www.go.vn/eDoc">'
            + body.replace("<edXML:", "<").replace("</edXML:", "</") + "</edXMLEnvelope>")
    parsed = edxml.parse(govn.encode())
    assert parsed.namespace == edxml.NS_GOVN
    assert parsed.header == edxml.parse(_read("vpcp-status_inbox_01.edxml")).header
    assert edxml.peek(govn.encode())["namespace"] == edxml.NS_GOVN


def _new_header() -> dict:
    return {
        "kind": "edoc",
        "message_id": "5d0b2f0e-4b8e-4a53-9c3f-2f1d7b6e8a10",
        "business": {"doc_type": 0, "reason": "Văn bản điện tử mới", "target_document_id": None, "paper": 0,
                     "staff": {"department": "Văn thư", "name": "Lê Văn Hùng", "mobile": "", "email": ""},
                     "document_info": None, "replacements": []},
        "from": {"organ_id": "000.00.00.H60", "organ_name": "Ủy ban nhân dân tỉnh Tuyên Quang",
                 "organization_in_charge": "", "address": "", "email": "", "telephone": "", "fax": "",
                 "website": ""},
        "to": [{"organ_id": "000.00.00.H17", "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng"}],
        "code_number": "12", "code_notation": "UBND-VX",
        "promulgation_place": "Tuyên Quang", "promulgation_date": "2026-11-21",
        "document_type": {"type": 1, "type_detail": 0, "type_name": "Công văn"},
        "subject": "Về việc phối hợp <liên thông> & trao đổi văn bản", "content": "Nội dung",
        "signer": {"competence": "TM. ỦY BAN NHÂN DÂN", "position": "Chủ tịch", "full_name": "Nguyễn Văn An"},
        "due_date": None, "to_places": ["Như trên", "Lưu: VT"],
        "other": {"priority": 0, "sphere_of_promulgation": "", "typer_notation": "", "promulgation_amount": 1,
                  "page_amount": 1, "appendixes": [], "direction": False},
        "response_for": [], "steering_type": 0,
        "trace": [{"organ_id": "000.00.00.H60", "timestamp": "2026-11-21T09:00:00+07:00"}],
    }


def test_build_from_a_message_contract_header_with_a_raw_pdf():
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40
    meta = {"name": "Công văn 12.pdf", "content_type": "application/pdf", "description": "Văn bản chính",
            "sha256": hashlib.sha256(pdf).hexdigest()}
    data = edxml.build_edoc(_new_header(), [(meta, pdf)])
    assert b"<edXML:DocumentId>000.00.00.H60,2026/11/21,12/UBND-VX</edXML:DocumentId>" in data
    assert b"<edXML:PromulgationDate>2026/11/21</edXML:PromulgationDate>" in data
    assert b"<edXML:Timestamp>2026/11/21 09:00:00</edXML:Timestamp>" in data
    assert b"&lt;li\xc3\xaan th\xc3\xb4ng&gt; &amp;" in data
    parsed = edxml.parse(data)
    assert parsed.header["document_id"] == "000.00.00.H60,2026/11/21,12/UBND-VX"
    assert parsed.header["subject"] == "Về việc phối hợp <liên thông> & trao đổi văn bản"
    (attachment,) = parsed.attachments
    assert (attachment.data, attachment.content_type, attachment.zipped_on_wire) == (pdf, "application/pdf", False)
    assert attachment.content_id == "cid:1" and attachment.sha256 == meta["sha256"]
    assert edxml.validate_outgoing(_new_header()) == []


def test_the_recipients_keep_the_order_the_clerk_chose_them_in_to_and_to_places():
    """NĐ 30/2020 Phụ lục I, “Nơi nhận”: the sender lists its recipients in a deliberate order (to carry out, then to
    be informed, then to keep): the package's To list and ToPlaces go out and are read back in that order, never
    sorted (here against the identifiers' order)."""
    to = [{"organ_id": "000.00.09.H60", "organ_name": "Sở Nội vụ tỉnh Tuyên Quang"},
          {"organ_id": "000.00.00.H17", "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng"},
          {"organ_id": "000.00.02.H60", "organ_name": "Sở Tài chính tỉnh Tuyên Quang"}]
    header = {**_new_header(), "to": to, "to_places": [t["organ_name"] for t in to]}
    parsed = edxml.parse(edxml.build_edoc(header, [({"name": "a.pdf", "content_type": "application/pdf"},
                                                    b"%PDF-1.7\n")]))
    assert [t["organ_id"] for t in parsed.header["to"]] == [t["organ_id"] for t in to]
    assert parsed.header["to_places"] == [t["organ_name"] for t in to]


def test_zipped_attachment_comes_back_unzipped_with_the_same_hash():
    pdf = b"%PDF-1.7\n" + b"0123456789" * 5000
    data = edxml.build_edoc(_new_header(), [({"name": "a.pdf", "content_type": "application/pdf"}, pdf)],
                            zip_attachments=True)
    assert b"<edXML:ContentType>application/zip</edXML:ContentType>" in data
    (attachment,) = edxml.parse(data).attachments
    assert attachment.zipped_on_wire and attachment.data == pdf and attachment.content_type == "application/pdf"
    assert data == edxml.build_edoc(_new_header(), [({"name": "a.pdf", "content_type": "application/pdf"}, pdf)],
                                    zip_attachments=True), "same input, same bytes"


def test_build_refuses_bytes_that_do_not_match_their_sha256():
    with pytest.raises(edxml.EdxmlError) as caught:
        edxml.build_edoc(_new_header(), [({"name": "a.pdf", "sha256": "00" * 32}, b"data")])
    assert caught.value.reason == "MISSING_OR_CORRUPT_ATTACHMENT"


def test_strict_build_applies_outbound_rules():
    header = _new_header() | {"code_number": "74fass22", "to": [{"organ_id": "28.22.H17", "organ_name": "X"}]}
    problems = edxml.validate_outgoing(header)
    assert any("số văn bản" in p for p in problems) and any("28.22.H17" in p for p in problems)
    with pytest.raises(edxml.EdxmlError) as caught:
        edxml.build_edoc(header, [], strict=True)
    assert caught.value.reason == "FORMAT_ERROR"
    edxml.build_edoc(header, [])   # lenient by default: re-emitting real traffic must work


def test_build_status_pads_the_code_and_uses_vietnam_time():
    data = edxml.build_status({
        "kind": "status", "from": {"organ_id": "000.00.00.H17", "organ_name": "UBND thành phố Đà Nẵng"},
        "to": {"organ_id": "000.00.00.H60"},
        "response_for": {"organ_id": "000.00.00.H60", "code": "12/UBND-VX", "promulgation_date": "2026-11-21",
                         "document_id": "000.00.00.H60,2026/11/21,12/UBND-VX"},
        "staff": {"department": "", "name": "", "mobile": "", "email": ""},
        "status_code": 3, "description": "Đã tiếp nhận, vào sổ văn bản đến số 45",
        "timestamp": "2026-11-21T03:00:00+00:00"})
    assert b"<edXML:StatusCode>03</edXML:StatusCode>" in data
    assert b"<edXML:Timestamp>2026/11/21 10:00:00</edXML:Timestamp>" in data
    header = edxml.parse(data).header
    assert header["to"] == {"organ_id": "000.00.00.H60"} and header["timestamp"] == "2026-11-21T10:00:00+07:00"


def test_append_trace_adds_hubs_in_order_and_leaves_everything_else_byte_for_byte():
    original = _read("vpcp-edoc_new.edxml")
    first = edxml.append_trace(original, "hub.H60", datetime(2026, 11, 21, 9, 0, 1, tzinfo=VN_TZ))
    second = edxml.append_trace(first, "hub.national", datetime(2026, 11, 21, 2, 0, 2, tzinfo=VN_TZ))
    parsed = edxml.parse(second)
    assert parsed.header["trace"] == [
        {"organ_id": "000.00.00.G22", "timestamp": "2018-09-28T00:00:00+07:00"},
        {"organ_id": "hub.H60", "timestamp": "2026-11-21T09:00:01+07:00"},
        {"organ_id": "hub.national", "timestamp": "2026-11-21T02:00:02+07:00"},
    ]
    before = edxml.parse(original)
    assert {k: v for k, v in parsed.header.items() if k != "trace"} == \
           {k: v for k, v in before.header.items() if k != "trace"}
    # Only the inserted TraceHeaders differ: the bytes before and after the insertion point are the original's.
    cut = original.index(b"</edXML:TraceHeader>") + len(b"</edXML:TraceHeader>")
    assert second.startswith(original[:cut]) and second.endswith(original[cut:])
    inserted = second[cut:len(second) - len(original[cut:])]
    assert inserted.count(b"<edXML:TraceHeader>") == 2 and b"Bussiness" not in inserted
    # The new entries sit with the other TraceHeaders, before Bussiness, as in the samples.
    names = [etree.QName(e).localname for e in etree.fromstring(second, etree.XMLParser(huge_tree=True))
             .iter(f"{{{edxml.NS_QCVN}}}TraceHeaderList").__next__()]
    assert names == ["TraceHeader", "TraceHeader", "TraceHeader", "Bussiness"]


def test_append_trace_to_a_status_without_trace_list():
    data = edxml.append_trace(_read("vpcp-status_inbox_01.edxml"), "hub.H17", datetime(2026, 1, 2, 3, 4, 5))
    header = edxml.parse(data).header
    assert header["trace"] == [{"organ_id": "hub.H17", "timestamp": "2026-01-02T03:04:05+07:00"}]
    assert header["status_code"] == "01"
    assert edxml.peek(data)["trace"] == header["trace"]


@pytest.mark.parametrize("sample", ["vpcp-edoc_new.edxml", "vpcp-status_inbox_01.edxml", "bkav-edoc_update.edxml"])
def test_a_relaying_hub_splices_without_parsing_exactly_as_the_checked_splice(sample):
    """national and the destination hub add their line to what the first hub spliced and checked, without
    parsing it again (issue 17 item 5); the bytes must be those the checked splice gives."""
    at = datetime(2026, 11, 21, 9, 0, 1, tzinfo=VN_TZ)
    first = edxml.append_trace(_read(sample), "hub.H60", at)
    for hub in ("hub.national", "hub.H17"):
        checked = edxml.append_trace(first, hub, at)
        assert edxml.append_trace(first, hub, at, checked=False) == checked
        first = checked
    assert [t["organ_id"] for t in edxml.peek(first)["trace"]][-3:] == ["hub.H60", "hub.national", "hub.H17"]


def test_the_unchecked_splice_searches_past_a_header_end_hidden_in_a_comment():
    """A fake `</edXMLHeader>` inside a comment must not cut the search short: the region then is the whole
    package, and the line still lands in the real trace list."""
    at = datetime(2026, 11, 21, 9, 0, 1, tzinfo=VN_TZ)
    original = _read("vpcp-edoc_new.edxml")
    tricked = original.replace(b"<edXML:TraceHeaderList>", b"<!-- </edXML:edXMLHeader> --><edXML:TraceHeaderList>", 1)
    assert tricked != original
    first = edxml.append_trace(tricked, "hub.H60", at)
    spliced = edxml.append_trace(first, "hub.national", at, checked=False)
    assert spliced == edxml.append_trace(first, "hub.national", at)
    assert [t["organ_id"] for t in edxml.peek(spliced)["trace"]][-2:] == ["hub.H60", "hub.national"]


@pytest.mark.parametrize("sample", ["vpcp-edoc_new.edxml", "vpcp-status_inbox_01.edxml"])
def test_the_first_hub_splices_with_the_trace_it_parsed_exactly_as_reading_it_again(sample):
    """The first hub hands the splice the trace its parse read, instead of the splice reading the header again;
    the package is the same, and a trace that is not the package's is still caught by the check after."""
    at = datetime(2026, 11, 21, 9, 0, 1, tzinfo=VN_TZ)
    data = _read(sample)
    parsed = edxml.parse(data)
    assert edxml.append_trace(data, "hub.H60", at, trace=parsed.header["trace"]) == edxml.append_trace(
        data, "hub.H60", at)
    with pytest.raises(edxml.EdxmlError):
        edxml.append_trace(data, "hub.H60", at, trace=[*parsed.header["trace"], {"organ_id": "hub.X",
                                                                                 "timestamp": at}])


def test_the_first_hubs_splice_is_refused_when_a_decoy_trace_list_draws_it_away():
    """The byte search takes the first TraceHeaderList tag of the header; a decoy nested deeper (which the parser
    does not read as the trace) draws the line away from the real list, and reading the trace back catches it."""
    at = datetime(2026, 11, 21, 9, 0, 1, tzinfo=VN_TZ)
    original = _read("vpcp-edoc_new.edxml")
    decoy = b"<edXML:Note><edXML:TraceHeaderList></edXML:TraceHeaderList></edXML:Note></edXML:MessageHeader>"
    tricked = original.replace(b"</edXML:MessageHeader>", decoy, 1)
    assert tricked != original and edxml.read_trace(tricked) == edxml.read_trace(original)
    with pytest.raises(edxml.EdxmlError, match="TraceHeader"):
        edxml.append_trace(tricked, "hub.H60", at)
    assert edxml.read_trace(edxml.append_trace(original, "hub.H60", at))[-1]["organ_id"] == "hub.H60"


def test_an_envelope_with_an_undeclared_prefix_is_a_format_error_not_a_crash():
    """libxml2's pull parser keeps an element whose prefix is not declared under its raw name
    ("e-XML:edXMLEnvelope"), which lxml's QName refused with ValueError (found by the codec's fuzzer): `peek` and
    `read_trace` read it as an element of no namespace, and the whole parse, which every hub's first hop and
    every edge run, refuses the package."""
    data = _read("vpcp-edoc_new.edxml").replace(b"edXML:edXMLEnvelope", b"e-XML:edXMLEnvelope")
    with pytest.raises(edxml.EdxmlError, match="e-XML"):
        edxml.parse(data)
    assert edxml.peek(data)["namespace"] == ""
    assert edxml.read_trace(data) == edxml.read_trace(_read("vpcp-edoc_new.edxml"))


def test_peek_reads_a_header_larger_than_its_first_pieces():
    """peek feeds its parser 4 KB first, then doubling pieces: a header of tens of KB (many recipients) is read
    whole, whichever piece it ends in."""
    header = _new_header()
    header["to"] = [{"organ_id": f"000.00.{i % 100:02d}.H{i // 100 + 10}", "organ_name": f"Cơ quan số {i}"}
                    for i in range(400)]
    data = edxml.build_edoc(header, [({"name": "a.pdf", "content_type": "application/pdf"},
                                      b"%PDF-1.7\n" + os.urandom(150_000))])
    assert data.index(b"</edXML:edXMLHeader>") > 4096 * 7   # past the third piece
    peeked = edxml.peek(data)
    assert peeked["to"] == [item["organ_id"] for item in header["to"]]
    assert peeked["trace"] == edxml.parse(data).header["trace"]


def test_check_recipient():
    edoc = edxml.parse(_read("bkav-edoc_update.edxml")).header
    edxml.check_recipient(edoc, "000.00.12.H53")
    with pytest.raises(edxml.EdxmlError) as caught:
        edxml.check_recipient(edoc, "000.00.00.H60")
    assert caught.value.reason == "WRONG_RECIPIENT" and "000.00.00.H60" in caught.value.detail
    status = edxml.parse(_read("vpcp-status_cancellation_13.edxml")).header
    edxml.check_recipient(status, "000.00.00.H41")
    with pytest.raises(edxml.EdxmlError):
        edxml.check_recipient(status, "000.00.00.G22")
