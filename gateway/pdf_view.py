"""A document's PDF read on a phone: each page as an image as wide as the screen allows (pinch to zoom), with the
page's text under it for screen readers and for copying. Phone browsers do not all show a PDF inside a page
(iOS shows only the first page, many Android browsers only download it), and the gateway's CSP forbids frames and
objects anyway; an image and text is readable everywhere. Rendered by PDFium (pypdfium2) from the agency's blob
store, only for a file of a document the viewer may see (the registry decides, as for the download)."""

from __future__ import annotations

import io
import threading
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from gateway.app import Gateway, Viewer, gw, render, viewer
from services.common.errors import NotFound, ValidationFailed
from services.storage.blobs import blob_store

MAX_PAGES = 60
WIDTH = 1000  # px of a page image: sharp on a phone's 2-3x screen at 390 px, small enough to load on 4G
_pdfium = threading.Lock()  # PDFium is not thread-safe


def readable_file(g: Gateway, v: Viewer, doc_id: str, sha256: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the document, the file's record) when the file belongs to a document the viewer may see."""
    doc = g.backends.call(v.actor, "registry", "get_document", doc_id)
    files = {a["sha256"]: a for a in doc.get("attachments") or []}
    if sha256 not in files:
        raise NotFound("Không tìm thấy tệp trong văn bản này.", doc_id=doc_id, sha256=sha256)
    return doc, files[sha256]


def _is_pdf(info: dict[str, Any]) -> bool:
    return (info.get("content_type") == "application/pdf" or str(info.get("name", "")).lower().endswith(".pdf"))


def _pages(data: bytes) -> list[str]:
    import pypdfium2

    with _pdfium:
        pdf = pypdfium2.PdfDocument(data)
        try:
            texts = []
            for i in range(min(len(pdf), MAX_PAGES)):
                page = pdf[i]
                texts.append(page.get_textpage().get_text_range().replace("\r\n", "\n").strip())
            return texts
        finally:
            pdf.close()


def page_png(data: bytes, number: int) -> bytes:
    import pypdfium2

    with _pdfium:
        pdf = pypdfium2.PdfDocument(data)
        try:
            if not 1 <= number <= min(len(pdf), MAX_PAGES):
                raise NotFound("Văn bản không có trang này.", page=number)
            page = pdf[number - 1]
            scale = WIDTH / page.get_width()
            image = page.render(scale=scale).to_pil()
            out = io.BytesIO()
            image.convert("RGB").save(out, "PNG", optimize=True)
            return out.getvalue()
        finally:
            pdf.close()


def _pdf_bytes(g: Gateway, v: Viewer, info: dict[str, Any], sha256: str) -> bytes:
    if not _is_pdf(info):
        raise ValidationFailed("Chỉ xem từng trang được với tệp PDF; tệp này hãy tải về.", field="file")
    return blob_store(g.settings, v.user.agency_id).read(sha256)


def install(app: FastAPI) -> None:
    @app.get("/tep/{doc_id}/{sha256}/xem", response_class=HTMLResponse, include_in_schema=False)
    def view(request: Request, doc_id: str, sha256: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        doc, info = readable_file(g, v, doc_id, sha256)
        data = _pdf_bytes(g, v, info, sha256)
        texts = _pages(data)
        return render(request, "pdf_view.html", v, doc=doc, file=info, sha256=sha256, texts=texts,
                      capped=len(texts) == MAX_PAGES)

    @app.get("/tep/{doc_id}/{sha256}/trang/{number}.png", include_in_schema=False)
    def page_image(doc_id: str, sha256: str, number: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        _doc, info = readable_file(g, v, doc_id, sha256)
        return Response(page_png(_pdf_bytes(g, v, info, sha256), number), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=3600"})
