"""Fuzz the VDXP wire rules (services/interconnect/vdxp.py), the part of the national hub any HTTP client reaches
before it is authenticated: whatever headers and body arrive, reading them either succeeds or raises VdxpError
(answered with its ErrorCode), and every answer is pure-ASCII JSON without a null."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.interconnect import vdxp

pytestmark = pytest.mark.fuzz
SECRET = "fuzz-secret"

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=8)
sign_texts = st.one_of(
    st.text(max_size=200),
    st.dictionaries(st.text(max_size=20), json_values, max_size=6).map(lambda d: json.dumps(d)),
    st.lists(st.tuples(st.sampled_from(["XroadVnpt-systemid", "XroadVnpt-docId", "XroadVnpt-docid", "systemid",
                                        "XroadVnpt-from", ""]), st.text(max_size=20)), max_size=6)
    .map(lambda pairs: "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}"),
)


@settings(settings.get_profile("fuzz"))
@given(sign_texts, st.text(max_size=70), st.binary(max_size=64))
def test_reading_a_request_raises_nothing_but_vdxp_errors(sign: str, given_hash: str, raw_name: bytes) -> None:
    headers = vdxp.first_headers([(raw_name, sign.encode("utf-8", "surrogatepass")),
                                  (b"XroadVnpt-sign-header", sign.encode("utf-8", "surrogatepass")),
                                  (b"XroadVnpt-hash-header", given_hash.encode("utf-8", "surrogatepass"))])
    for secret in (None, SECRET):
        try:
            vdxp.signed_system(headers)
            request = vdxp.verify(headers, secret)
        except vdxp.VdxpError as error:
            assert error.code in vdxp.HTTP_STATUS
            continue
        # Only a correct HMAC gets here, and then every parameter reads as a string.
        assert secret == SECRET
        assert vdxp.hmac_hex(SECRET, headers[vdxp.SIGN_HEADER]) == headers[vdxp.HASH_HEADER].strip().lower()
        assert all(isinstance(request.get(key), str) for key, _ in request.params)


@settings(settings.get_profile("fuzz"))
@given(sign_texts)
def test_a_correctly_signed_request_always_verifies(sign: str) -> None:
    headers = {vdxp.SIGN_HEADER: sign, vdxp.HASH_HEADER: vdxp.hmac_hex(SECRET, sign)}
    try:
        vdxp.verify(headers, SECRET)
    except vdxp.VdxpError as error:  # only a sign-header that is not a JSON object is refused
        try:
            parsed = json.loads(sign)
        except ValueError:
            parsed = None
        assert not isinstance(parsed, dict), (sign, error)


@settings(settings.get_profile("fuzz"))
@given(st.binary(max_size=300), st.text(max_size=70), st.booleans())
def test_hash_file_check_accepts_only_the_files_digest(body: bytes, given_hash: str, honest: bool) -> None:
    if honest:
        given_hash = "".join(format(b, "x") for b in hashlib.sha256(body).digest())
    try:
        data = vdxp.file_of(body + b"\r\n", given_hash)
    except vdxp.VdxpError as error:
        assert not honest and error.code == vdxp.Code.HASH_MISMATCH
        return
    digest = hashlib.sha256(data).digest()
    assert given_hash.strip().lower() in (digest.hex(), "".join(format(b, "x") for b in digest))


@settings(settings.get_profile("fuzz"))
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_every_answer_is_ascii_json_without_null(fields: dict) -> None:
    raw = vdxp.encode(vdxp.answer(**{k: v for k, v in fields.items() if k not in ("code", "desc")}))
    raw.decode("ascii")

    def nulls(value) -> int:
        if isinstance(value, dict):
            return sum(nulls(v) for v in value.values())
        if isinstance(value, list):
            return sum(nulls(v) for v in value)
        return int(value is None)

    body = json.loads(raw)
    assert nulls(body) == 0 and {"status", "ErrorCode", "ErrorDesc"} <= set(body)
