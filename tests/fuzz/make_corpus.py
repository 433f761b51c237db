"""Writes the hand-made seeds of tests/fuzz/corpus (run once; the files are kept in the repository).

    .venv/bin/python -m tests.fuzz.make_corpus

Each seed is a package that once crashed a hub or an edge (issue 21) or sits at a boundary of the codec;
the fuzzers start from these and from tests/fixtures/edxml.
"""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

from services.interconnect import edxml
from tests.interconnect.conftest import H17_A, H60_A, H60_B, make_topology
from tests.interconnect.harness import edoc

CORPUS = Path(__file__).parent / "corpus"


def _package(number: int, files: list[tuple[dict, bytes]]) -> bytes:
    return edxml.build_edoc(edoc(make_topology("c."), H60_A, [H60_B, H17_A], number, []), files)


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def seeds() -> dict[str, bytes]:
    pdf = ({"name": "van-ban.pdf", "content_type": "application/pdf"}, b"%PDF-1.4 noi dung")
    plain = _package(1, [pdf])
    root = plain.index(b"<edXML")
    corrupt = bytearray(_zip("van-ban.pdf", b"%PDF-1.4 " + b"noi dung " * 500))
    start = 30 + len("van-ban.pdf")
    for i in range(start + 2, start + 40):
        corrupt[i] ^= 0x5A
    zipped = _package(3, [({"name": "van-ban.pdf", "content_type": "application/pdf"}, b"x")])
    zipped = zipped.replace(b">application/pdf<", b">application/zip<")
    status = edxml.build_status({
        "kind": "status", "from": {"organ_id": H60_B, "organ_name": "Sở Nội vụ"}, "to": {"organ_id": H60_A},
        "response_for": {"organ_id": H60_A, "code": "1/UBND-VX", "promulgation_date": "2026-11-21",
                         "document_id": f"{H60_A},2026/11/21,1/UBND-VX"},
        "staff": {"department": "Văn thư", "name": "Hệ thống", "mobile": "", "email": ""},
        "status_code": "06", "description": "Đã hoàn thành", "timestamp": "2026-11-21T10:00:00+07:00"})
    return {
        "plain.edxml": plain,
        "comment-before-root.edxml": plain[:root] + b"<!-- <edXML:TraceHeaderList></edXML:TraceHeaderList> -->"
                                     + plain[root:],
        "corrupt-deflate.edxml": zipped.replace(base64.b64encode(b"x"), base64.b64encode(bytes(corrupt))),
        "zipped.edxml": zipped.replace(base64.b64encode(b"x"), base64.b64encode(_zip("van-ban.pdf", b"%PDF x"))),
        "status-06.edxml": status,
        "status-comment.edxml": status.replace(b"<edXML:StatusCode>", b"<!-- </edXML:MessageHeader> -->"
                                               b"<edXML:StatusCode>", 1),
    }


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, data in seeds().items():
        (CORPUS / name).write_bytes(data)
        print(name, len(data))


if __name__ == "__main__":
    main()
