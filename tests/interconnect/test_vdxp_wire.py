"""The VDXP wire rules (services/interconnect/vdxp.py) against requests built the SDK's way (vdxp_client.py)."""

from __future__ import annotations

import hashlib
import json

import pytest

from services.interconnect import vdxp
from tests.interconnect.vdxp_client import SdkClient, days_ago, java_hex

SECRET = "A7TKG-test-secret"


def _headers(client: SdkClient) -> dict[str, str]:
    """What the server sees: lower-cased names, first value each."""
    return vdxp.first_headers((name.encode(), value.encode()) for name, value in client.signed_headers())


def _client(**params: str) -> SdkClient:
    client = SdkClient("http://axis", "vxp.saas.03", SECRET, started=days_ago(3))
    client.headers["Content-Type"] = "application/json"
    client.headers.update(params)
    return client


def test_a_signed_request_verifies_and_its_values_come_from_the_signed_json():
    request = vdxp.verify(_headers(_client(messagetype="edoc", servicetype="eDoc")), SECRET)
    assert request.system_id == "vxp.saas.03"
    assert request.get("messagetype") == "edoc" and request.get("servicetype") == "eDoc"
    assert request.get("timestamp")  # three days old: accepted, the SDK sets it once per object


def test_a_wrong_secret_a_missing_or_a_tampered_signature_is_refused():
    headers = _headers(_client(**{"from": "000.00.00.G09"}))
    with pytest.raises(vdxp.VdxpError) as wrong:
        vdxp.verify(headers, "another-secret")
    assert wrong.value.code == vdxp.Code.UNAUTHENTICATED and wrong.value.http_status == 401
    with pytest.raises(vdxp.VdxpError):
        vdxp.verify(headers, None)  # unknown system: the same answer as a wrong secret
    for missing in (vdxp.SIGN_HEADER, vdxp.HASH_HEADER):
        with pytest.raises(vdxp.VdxpError) as caught:
            vdxp.verify({k: v for k, v in headers.items() if k != missing}, SECRET)
        assert caught.value.code == vdxp.Code.UNAUTHENTICATED
    forged = dict(headers)
    forged[vdxp.SIGN_HEADER] = forged[vdxp.SIGN_HEADER].replace("000.00.00.G09", "000.00.00.G22")
    with pytest.raises(vdxp.VdxpError):
        vdxp.verify(forged, SECRET)


def test_an_unsigned_header_cannot_change_a_parameter():
    headers = _headers(_client(**{"from": "000.00.00.G09"}))
    headers["xroadvnpt-from"] = "000.00.00.G22"  # a loose header, not in the signed JSON
    assert vdxp.verify(headers, SECRET).get("from") == "000.00.00.G09"


def test_docid_and_docId_together_the_sdk_spelling_counts():
    client = _client()
    client.headers.update({"docid": "OLD-from-an-earlier-updateStatus"})
    client.headers.update({"docId": "NEW", "filePath": "/tmp"})
    request = vdxp.verify(_headers(client), SECRET)
    assert request.get("docId") == "NEW"
    assert request.get("docid") == "OLD-from-an-earlier-updateStatus"
    only = vdxp.verify(_headers(_client(docid="X")), SECRET)
    assert only.get("docId") == "X"  # the other spelling alone is read as well


@pytest.mark.parametrize("seed", range(40))
def test_hash_file_in_the_sdk_unpadded_form_is_accepted(seed):
    data = f"<edXML>{seed}</edXML>".encode()
    digest = hashlib.sha256(data).digest()
    sdk = java_hex(digest)
    assert vdxp.file_of(data + b"\r\n", sdk) == data
    assert vdxp.file_of(data + b"\r\n", digest.hex()) == data  # the standard form too
    assert vdxp.file_of(data, sdk) == data                       # a client that did not add the CRLF


def test_the_unpadded_form_differs_when_a_byte_is_below_0x10():
    data = next(d for d in (str(i).encode() for i in range(1000)) if min(hashlib.sha256(d).digest()) < 0x10)
    sdk = java_hex(hashlib.sha256(data).digest())
    assert len(sdk) < 64
    assert vdxp.file_of(data + b"\r\n", sdk) == data


def test_a_hash_file_that_does_not_match_is_refused():
    data = b"<edXML>1</edXML>"
    for wrong in (java_hex(hashlib.sha256(b"other").digest()), "", "zz"):
        with pytest.raises(vdxp.VdxpError) as caught:
            vdxp.file_of(data + b"\r\n", wrong)
        assert caught.value.code == vdxp.Code.HASH_MISMATCH
    with pytest.raises(vdxp.VdxpError):  # the hash of the body including the CRLF is not the file's
        vdxp.file_of(data + b"\r\n", java_hex(hashlib.sha256(data + b"\r\n\r\n").digest()))


def test_answers_have_no_null_anywhere_and_are_pure_ascii():
    body = vdxp.answer(DocId=None, data=[{"docId": "1", "to": None}, None, {"x": [None, "y"]}])
    raw = vdxp.encode(body)
    assert b"null" not in raw
    decoded = json.loads(raw.decode("ascii"))
    assert decoded == {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Thành công",
                       "data": [{"docId": "1"}, {"x": ["y"]}]}
    fail = json.loads(vdxp.encode(vdxp.failure(vdxp.VdxpError(vdxp.Code.NOT_FOUND, "Không tìm thấy"))))
    assert fail == {"status": "FAIL", "ErrorCode": "7", "ErrorDesc": "Không tìm thấy"}


def test_required_parameters_and_allowed_values():
    request = vdxp.verify(_headers(_client(status="archived")), SECRET)
    with pytest.raises(vdxp.VdxpError) as missing:
        vdxp.require(request, "docId")
    assert missing.value.code == vdxp.Code.BAD_REQUEST and "XroadVnpt-docId" in missing.value.desc
    with pytest.raises(vdxp.VdxpError) as bad:
        vdxp.require(request, "status", vdxp.TRANSPORT_STATUSES)
    assert "archived" in bad.value.desc


def test_found_by_the_fuzzer_a_json_array_or_a_non_ascii_hash_is_refused_not_a_crash():
    # tests/fuzz/test_fuzz_vdxp.py found both: an array passed for the object of pairs and failed unpacking,
    # and compare_digest raised on a non-ASCII hash header (a 503 instead of a 401).
    for sign in ('[["XroadVnpt-systemid","vxp.saas.03"]]', "[1,2]", "1", '"x"'):
        with pytest.raises(vdxp.VdxpError) as caught:
            vdxp.verify({vdxp.SIGN_HEADER: sign, vdxp.HASH_HEADER: vdxp.hmac_hex(SECRET, sign)}, SECRET)
        assert caught.value.code == vdxp.Code.UNAUTHENTICATED
    sign = '{"XroadVnpt-systemid":"vxp.saas.03"}'
    with pytest.raises(vdxp.VdxpError) as caught:
        vdxp.verify({vdxp.SIGN_HEADER: sign, vdxp.HASH_HEADER: "é" * 64}, SECRET)
    assert caught.value.code == vdxp.Code.UNAUTHENTICATED
    nested = '{"XroadVnpt-systemid":"s","XroadVnpt-to":[{"code":"000.00.00.G22"}]}'
    request = vdxp.verify({vdxp.SIGN_HEADER: nested, vdxp.HASH_HEADER: vdxp.hmac_hex(SECRET, nested)}, SECRET)
    assert request.get("to") == '[{"code":"000.00.00.G22"}]'  # a nested value is read back as its JSON
