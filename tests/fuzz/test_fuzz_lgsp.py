"""Fuzz the LGSP wire rules (services/interconnect/lgsp.py) and the LGSP API's form reading (lgsp_api.read_form),
the parts of a provincial hub any HTTP client reaches: whatever path, body or multipart form arrives, reading it
either succeeds or raises LgspError (answered with its code); whatever a real LGSP answers, the client edge reads a
code or None (unreachable), never an exception."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from services.interconnect import lgsp
from services.interconnect.lgsp_api import read_form

pytestmark = pytest.mark.fuzz

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=8)
bodies = st.one_of(st.binary(max_size=200),
                   st.dictionaries(st.sampled_from(["docId", "status", "description", "x"]), json_values,
                                   max_size=4).map(lambda d: json.dumps(d).encode()))


@settings(settings.get_profile("fuzz"))
@given(bodies, st.text(max_size=60))
def test_reading_a_request_raises_nothing_but_lgsp_errors(body: bytes, path: str) -> None:
    operation, doc_id = lgsp.operation_of(path)
    assert isinstance(operation, str) and isinstance(doc_id, str)
    try:
        doc_id, status, description = lgsp.status_update(body)
    except lgsp.LgspError as error:
        assert error.code == lgsp.Code.BAD_REQUEST and error.http_status == 400
        assert json.loads(lgsp.encode(lgsp.failure(error)))["errorCode"] == 40
        return
    assert doc_id and status in lgsp.TRANSPORT_STATUSES and isinstance(description, str)


@settings(settings.get_profile("fuzz"))
@given(bodies, st.sampled_from(["errorCode", "ErrorCode", "code"]), json_values)
def test_any_answer_reads_as_a_code_or_unreachable(raw: bytes, key: str, value) -> None:
    for answer in (raw, json.dumps({key: value, "errorDesc": value, "data": value}).encode()):
        code, desc, _data = lgsp.read_answer(answer)
        assert code is None or isinstance(code, int)
        assert isinstance(desc, str)
        assert lgsp.handling_of(code) in lgsp.Handling


boundaries = st.text(alphabet="abcXYZ019-_", min_size=1, max_size=12)


@settings(settings.get_profile("fuzz"))
@given(boundaries, st.binary(max_size=300), st.sampled_from(["edocFile", "messageType", "x"]), st.booleans())
def test_any_multipart_body_reads_as_a_form_or_a_reason(boundary: str, data: bytes, name: str, file: bool) -> None:
    disposition = f"form-data; name=\"{name}\"" + ("; filename=\"a\"" if file else "")
    framed = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data \
        + f"\r\n--{boundary}--\r\n".encode()
    for body in (framed, data, framed[: len(framed) // 2]):
        headers = Headers({"content-type": f"multipart/form-data; boundary={boundary}"})
        fields, files, error = asyncio.run(read_form(headers, body))
        assert isinstance(fields, dict) and isinstance(files, dict) and isinstance(error, str)
        assert all(isinstance(v, bytes) for v in files.values())
