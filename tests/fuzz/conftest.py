"""Shared parts of the fuzz job: the corpus, byte-level mutations, and a bounded hypothesis profile.

The job runs in the plain test session (marker `fuzz`, not excluded): each fuzzer stops after FUZZ_EXAMPLES
examples (default 150) and the whole job takes well under a minute. A longer hunt:
`FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/fuzz -m fuzz`. Every crash found goes into
tests/fuzz/test_regressions.py (and its package into tests/fuzz/corpus/).
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

HERE = Path(__file__).parent
CORPUS_DIRS = (HERE / "corpus", HERE.parent / "fixtures" / "edxml")
CORPUS = {p.name: p.read_bytes() for d in CORPUS_DIRS for p in sorted(d.glob("*.edxml"))}

settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    database=None,
)

# Markup that once fooled a byte-level search or a decoder, spliced in at random places.
TOKENS = [
    b"<!--", b"-->", b"<!-- x -->", b"<![CDATA[", b"]]>", b"<?pi x?>", b"<!DOCTYPE x>", b"<!ENTITY e 'x'>",
    b"<edXML:TraceHeaderList>", b"</edXML:TraceHeaderList>", b"<edXML:TraceHeader>", b"</edXML:TraceHeader>",
    b"</edXML:MessageHeader>", b"<edXML:OrganId>000.00.00.H17</edXML:OrganId>", b"&amp;", b"&#0;", b"&#x10FFFF;",
    b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\r\n", b"application/zip", b"application/pdf", b"PK\x03\x04",
    b"UEsDBBQAAAAIAA==", b"====", b"<edXML:StatusCode>99</edXML:StatusCode>", b"9" * 40, b"\xc3\x28",
]


@st.composite
def mutated(draw, seeds: dict[str, bytes] | None = None) -> bytes:
    """A corpus package with a few byte-level mutations (flip, splice a token, cut, duplicate, truncate)."""
    data = bytearray(draw(st.sampled_from(sorted((seeds or CORPUS).items())))[1])
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "token", "cut", "dup", "truncate", "swap-type"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "dup":
            data[at:at] = data[at:at + draw(st.integers(1, 256))]
        elif op == "truncate":
            del data[at:]
        else:
            data = bytearray(bytes(data).replace(b"application/pdf", b"application/zip", 1))
    return bytes(data)
