"""Hostile and broken packages: each is refused with the precise reason a status 02 will carry."""

from __future__ import annotations

import base64
import io
import os
import zipfile

import pytest

from services.interconnect import edxml
from tests.interconnect.test_edxml import _new_header, _read


def _reason(data: bytes, **limits) -> edxml.EdxmlError:
    with pytest.raises(edxml.EdxmlError) as caught:
        edxml.parse(data, **limits)
    error = caught.value
    assert error.reason in edxml.REASONS and error.message_vi and error.detail
    return error


def _with_attachment(wire_bytes: bytes, content_type: str, name: str = "van-ban.pdf") -> bytes:
    """A package whose only attachment carries `wire_bytes` as they are (already zipped if it is a zip)."""
    data = edxml.build_edoc(_new_header(), [({"name": name, "content_type": "application/pdf"}, b"x")])
    data = data.replace(base64.b64encode(b"x"), base64.b64encode(wire_bytes))
    return data.replace(b">application/pdf<", f">{content_type}<".encode())


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def hostile_packages(good: bytes) -> dict[str, bytes]:
    """Every case of this module a hub's HTTP API meets through its own send operation (test_vdxp_api,
    test_lgsp_api), made from a good package of the caller's sender: each must be refused as invalid edXML."""
    return {
        "malformed": b"<edXML><edXMLEnvelope><unclosed></edXML>",
        "xxe": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><edXML>&e;</edXML>',
        "laughs": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aa"><!ENTITY b "&a;&a;&a;">]><edXML>&b;</edXML>',
        "deep": good.replace(b"<edXML:Subject>", b"<edXML:Subject>" + b"<a>" * 200 + b"</a>" * 200),
        "corrupt zip": _with_attachment(b"PK\x03\x04garbage", "application/zip"),
        "doctype behind a comment": b'<?xml version="1.0"?>\n<!-- <a> -->\n<!DOCTYPE edXML [<!ENTITY l0 "lol">]>'
                                    + good[good.index(b"<edXML xmlns"):],
        "entity without doctype": good.replace(b"<edXML:Subject>", b"<edXML:Subject>&xxe;"),
        "utf-16": good.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
        "invalid base64": _with_attachment(b"abcdef", "application/pdf").replace(base64.b64encode(b"abcdef"),
                                                                                   b"YWJj*GVm"),
        "unknown namespace": good.replace(edxml.NS_QCVN.encode(), b"urn:example:other"),
    }


def zip_bomb(sender: str) -> bytes:
    """A package from `sender` whose zipped attachment expands to 40 MiB of zeros (refused as too large)."""
    bomb = _with_attachment(_zip({"van-ban.pdf": b"\0" * (40 * 2**20)}), "application/zip")
    return bomb.replace(b"000.00.00.H60", sender.encode())


def test_malformed_xml_is_a_format_error():
    error = _reason(b'<?xml version="1.0"?><edXML><edXML:edXMLEnvelope></edXML>')
    assert error.reason == "FORMAT_ERROR"
    assert _reason(b"not xml at all").reason == "FORMAT_ERROR"
    assert _reason(_read("vpcp-status_inbox_01.edxml")[:-40]).reason == "FORMAT_ERROR"


def test_xxe_to_a_local_file_is_refused_and_the_file_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY")
    data = (f'<?xml version="1.0"?>\n<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
            '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><MessageHeader>'
            "<From><OrganId>&xxe;</OrganId></From><StatusCode>01</StatusCode>"
            "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>").encode()
    for call in (edxml.parse, edxml.peek):
        with pytest.raises(edxml.EdxmlError) as caught:
            call(data)
        assert caught.value.reason == "FORMAT_ERROR" and "DOCTYPE" in caught.value.detail
        assert "TOP-SECRET-CANARY" not in str(caught.value) + caught.value.detail


def test_doctype_behind_a_comment_is_refused_too():
    data = (b'<?xml version="1.0"?>\n<!-- <a> looks like a root -->\n<?pi x?>\n'
            b'<!DOCTYPE edXML [<!ENTITY l0 "lol">]>' + _read("vpcp-status_inbox_01.edxml")[39:])
    for call in (edxml.parse, edxml.peek):
        with pytest.raises(edxml.EdxmlError) as caught:
            call(data)
        assert "DOCTYPE" in caught.value.detail


def test_entity_reference_without_doctype_is_not_expanded(tmp_path):
    data = _read("vpcp-status_inbox_01.edxml").replace(b"<edXML:Description>", b"<edXML:Description>&xxe;")
    assert _reason(data).reason == "FORMAT_ERROR"   # undefined entity: refused, nothing resolved


def test_billion_laughs_is_refused():
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    data = (f'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY l0 "lol">{entities}]>'
            "<edXML><edXMLEnvelope><edXMLHeader><MessageHeader><StatusCode>&l9;</StatusCode>"
            "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>").encode()
    assert _reason(data).reason == "FORMAT_ERROR"
    with pytest.raises(edxml.EdxmlError):
        edxml.peek(data)


def test_deep_nesting_is_refused():
    deep = b"<a>" * 200 + b"</a>" * 200
    data = _read("vpcp-status_inbox_01.edxml").replace(b"<edXML:Description>", b"<edXML:Description>" + deep)
    error = _reason(data)
    assert error.reason == "FORMAT_ERROR"
    with pytest.raises(edxml.EdxmlError):
        edxml.peek(data)


def test_oversized_package_is_too_large():
    data = _read("vpcp-edoc_new.edxml")
    assert _reason(data, max_bytes=100_000).reason == "TOO_LARGE"
    with pytest.raises(edxml.EdxmlError) as caught:
        edxml.peek(data, max_bytes=100_000)
    assert caught.value.reason == "TOO_LARGE"


def test_utf16_package_is_refused():
    data = _read("vpcp-status_inbox_01.edxml").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert _reason(data.encode("utf-16")).reason == "FORMAT_ERROR"


def test_zip_bomb_is_stopped_by_the_expansion_ratio():
    bomb = _zip({"van-ban.pdf": b"\0" * (40 * 2**20)})
    assert len(bomb) < 100_000
    error = _reason(_with_attachment(bomb, "application/zip"))
    assert error.reason == "TOO_LARGE" and "zip bomb" in error.detail


def test_zip_expanding_beyond_the_package_bound_is_too_large():
    archive = _zip({"van-ban.pdf": os.urandom(600_000)})
    assert _reason(_with_attachment(archive, "application/zip"), max_expanded=500_000).reason == "TOO_LARGE"
    assert edxml.parse(_with_attachment(archive, "application/zip")).attachments[0].size == 600_000


def test_zip_bomb_named_zip_with_many_members_is_still_bounded():
    bomb = _zip({f"{i}.txt": b"\0" * (5 * 2**20) for i in range(8)})
    assert _reason(_with_attachment(bomb, "application/zip", name="ho-so.zip")).reason == "TOO_LARGE"


def test_corrupt_zip_is_a_corrupt_attachment():
    archive = _zip({"van-ban.pdf": os.urandom(50_000)})
    broken = archive[:1000] + bytes(200) + archive[1200:]
    assert _reason(_with_attachment(broken, "application/zip")).reason == "MISSING_OR_CORRUPT_ATTACHMENT"
    assert _reason(_with_attachment(b"PK\x03\x04garbage", "application/zip")).reason == \
        "MISSING_OR_CORRUPT_ATTACHMENT"


def test_invalid_base64_is_a_corrupt_attachment():
    data = edxml.build_edoc(_new_header(), [({"name": "a.pdf", "content_type": "application/pdf"}, b"abcdef")])
    data = data.replace(base64.b64encode(b"abcdef"), b"YWJj*GVm")
    error = _reason(data)
    assert error.reason == "MISSING_OR_CORRUPT_ATTACHMENT" and "base64" in error.detail


def test_attachment_not_in_the_manifest_is_refused():
    data = edxml.build_edoc(_new_header(), [({"name": "a.pdf", "content_type": "application/pdf"}, b"A"),
                                            ({"name": "b.pdf", "content_type": "application/pdf"}, b"B")])
    start = data.index(b"<edXML:Reference>", data.index(b"<edXML:Reference>") + 1)
    end = data.index(b"</edXML:Reference>", start) + len(b"</edXML:Reference>")
    error = _reason(data[:start] + data[end:])
    assert error.reason == "MISSING_OR_CORRUPT_ATTACHMENT"
    assert error.detail == "tệp 2 được đính kèm nhưng không có trong danh mục (manifest)"


def test_manifest_reference_without_attachment_is_refused():
    data = edxml.build_edoc(_new_header(), [({"name": "a.pdf", "content_type": "application/pdf"}, b"A"),
                                            ({"name": "b.pdf", "content_type": "application/pdf"}, b"B")])
    start = data.rindex(b"<Attachment>")
    end = data.index(b"</Attachment>", start) + len(b"</Attachment>")
    error = _reason(data[:start] + data[end:])
    assert error.reason == "MISSING_OR_CORRUPT_ATTACHMENT" and "manifest" in error.detail


def test_attachment_bigger_than_libxml2s_text_limit_still_parses():
    # 12 MB decoded = 16 MB of base64 in one text node: beyond huge_tree=False's 10 MB, handled by the splitter.
    payload = os.urandom(12 * 2**20)
    data = edxml.build_edoc(_new_header(), [({"name": "lon.pdf", "content_type": "application/pdf"}, payload)])
    (attachment,) = edxml.parse(data).attachments
    assert attachment.data == payload
    assert edxml.peek(data)["document_id"] == "000.00.00.H60,2026/11/21,12/UBND-VX"


def test_non_numeric_status_code_is_a_format_error():
    data = _read("vpcp-status_inbox_01.edxml").replace(b">01</edXML:StatusCode>", b">OK</edXML:StatusCode>")
    assert _reason(data).reason == "FORMAT_ERROR"


def test_duplicate_recipient_and_missing_sender_are_format_errors():
    header = _new_header()
    header["to"] = header["to"] * 2
    assert _reason(edxml.build_edoc(header, [])).reason == "FORMAT_ERROR"
    data = _read("vpcp-status_inbox_01.edxml").replace(b"<edXML:OrganId>000.00.00.H41</edXML:OrganId>",
                                                       b"<edXML:OrganId></edXML:OrganId>")
    error = _reason(data)
    assert error.reason == "FORMAT_ERROR" and "From/OrganId" in error.detail


def test_unknown_namespace_is_a_format_error():
    data = _read("vpcp-status_inbox_01.edxml").replace(edxml.NS_QCVN.encode(), b"urn:example:other")
    assert _reason(data).reason == "FORMAT_ERROR"
