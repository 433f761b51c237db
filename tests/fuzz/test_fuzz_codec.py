"""Fuzz the edXML codec: whatever bytes come in, parse/peek/append_trace either succeed or raise EdxmlError
(which a hub turns into a status 02); and what build_edoc writes, parse reads back."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.clock import now_vn
from services.interconnect import edxml
from tests.fuzz.conftest import mutated
from tests.interconnect.conftest import H17_A, H60_A, H60_B, make_topology
from tests.interconnect.harness import edoc

pytestmark = pytest.mark.fuzz
TOPOLOGY = make_topology("f.")


@settings(settings.get_profile("fuzz"))
@given(mutated())
def test_parse_peek_and_trace_raise_nothing_but_edxml_errors(data: bytes) -> None:
    try:
        parsed = edxml.parse(data)
    except edxml.EdxmlError:
        parsed = None
    with contextlib.suppress(edxml.EdxmlError):
        edxml.peek(data)
    if parsed is not None:
        try:
            traced = edxml.append_trace(data, "hub.H60", now_vn())
        except edxml.EdxmlError:
            return
        again = edxml.parse(traced)  # a hub never relays what the next one cannot read
        assert [t["organ_id"] for t in again.header["trace"]][-1] == "hub.H60"
        assert again.kind == parsed.kind


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(settings.get_profile("fuzz"))
@given(subject=TEXT, content=TEXT, name=TEXT, payload=st.binary(max_size=2000),
       recipients=st.lists(st.sampled_from([H60_B, H17_A]), min_size=1, max_size=2, unique=True))
def test_what_build_writes_parse_reads_back(subject: str, content: str, name: str, payload: bytes,
                                            recipients: list[str]) -> None:
    header = edoc(TOPOLOGY, H60_A, recipients, 7, [])
    header.update(subject=subject, content=content)
    try:
        data = edxml.build_edoc(header, [({"name": name or "a.pdf", "content_type": "application/pdf"}, payload)])
    except (edxml.EdxmlError, ValueError):  # refused on the way out, with a reason: never sent
        return
    parsed = edxml.parse(data)
    assert [t["organ_id"] for t in parsed.header["to"]] == recipients
    assert parsed.attachments[0].data == payload
