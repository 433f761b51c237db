"""A document's files downloaded or read in ranges (previews), for whoever may see the document."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import BinaryIO

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from gateway.app import Gateway, Viewer
from services.storage.blobs import blob_store

CHUNK = 256 * 1024
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")


def file_response(request: Request, g: Gateway, v: Viewer, doc_id: str, sha256: str) -> Response:
    """Only files of a document the viewer may see (the registry decides); Range requests serve previews."""
    from gateway.pdf_view import readable_file

    _doc, info = readable_file(g, v, doc_id, sha256)
    store = blob_store(g.settings, v.user.agency_id)
    size = int(info.get("size") or store.stat(sha256).size)
    name = info.get("name") or f"{sha256[:12]}.bin"
    headers = {"Accept-Ranges": "bytes",
               "Content-Disposition": f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}",
               "Cache-Control": "private, no-store"}
    ctype = info.get("content_type") or "application/octet-stream"
    match = RANGE_RE.match(request.headers.get("range", ""))
    if match and (match.group(1) or match.group(2)):
        start = int(match.group(1)) if match.group(1) else max(0, size - int(match.group(2)))
        end = min(size, int(match.group(2)) + 1) if match.group(1) and match.group(2) else size
        if start >= size or start >= end:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        return StreamingResponse(_chunks(lambda: store.open_range(sha256, start, end)), status_code=206,
                                 media_type=ctype, headers={**headers, "Content-Length": str(end - start),
                                                            "Content-Range": f"bytes {start}-{end - 1}/{size}"})
    return StreamingResponse(_chunks(lambda: store.open(sha256)), media_type=ctype,
                             headers={**headers, "Content-Length": str(size)})


def _chunks(opened: Callable[[], BinaryIO]) -> Iterator[bytes]:
    with opened() as f:
        while block := f.read(CHUNK):
            yield block
