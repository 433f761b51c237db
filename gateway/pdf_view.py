"""A document's PDF read on a phone: each page as an image as wide as the screen allows (pinch to zoom), with the
page's text under it for screen readers and for copying. Phone browsers do not all show a PDF inside a page
(iOS shows only the first page, many Android browsers only download it), and the gateway's CSP forbids frames and
objects anyway; an image and text is readable everywhere. Rendered by PDFium (pypdfium2) from the agency's blob
store, only for a file of a document the viewer may see (the registry decides, as for the download), or of a draft
the viewer may see (routing decides): the leader reads the draft page by page before signing it on the phone."""

from __future__ import annotations

import io
import threading
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Security
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from gateway.api import COMMON_ERRORS, DOC_ID, NOT_FOUND, bearer
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
    if doc.get("content_withdrawn_at"):  # an agreed recall deleted the files (gateway/recall.py)
        raise NotFound("Tệp đã bị xóa khi nơi gửi thu hồi văn bản.", doc_id=doc_id, sha256=sha256,
                       code="content_withdrawn")
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


SHA256 = r"^[0-9a-f]{64}$"
TAG = "Tệp của văn bản"
router = APIRouter(prefix="/api/v1/documents/{doc_id}/files/{sha256}", tags=[TAG],
                   responses={**COMMON_ERRORS, **NOT_FOUND}, dependencies=[Security(bearer)])
DocId = Path(pattern=DOC_ID, description="The document's id (as in /incoming or /outgoing)")
Sha256 = Path(pattern=SHA256, description="The file's SHA-256 (lower-case hex), from the document's `attachments`")


class PdfPage(BaseModel):
    number: int
    text: str
    image: str  # the page's PNG: a path of this API


class PdfPages(BaseModel):
    document_id: str
    sha256: str
    name: str
    pages: list[PdfPage]
    capped: bool  # only the first MAX_PAGES pages are given: the rest is in the file itself


@router.get("", summary="Tải tệp về", response_class=Response,
            # The file's own type (application/pdf, image/png, a DOCX...): any media type, as bytes.
            responses={200: {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "The file's bytes, served with its own Content-Type"},
                       206: {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "The requested byte range"}},
            description="The file's bytes, with its name in Content-Disposition. Range requests are served (206).")
def api_download(request: Request, doc_id: str = DocId, sha256: str = Sha256, v: Viewer = Depends(viewer),
                 g: Gateway = Depends(gw)) -> Response:
    from gateway.downloads import file_response

    return file_response(request, g, v, doc_id, sha256)


@router.get("/pages", response_model=PdfPages, summary="Đọc PDF từng trang (trên điện thoại)",
            description=f"Each page's text and the path of its image, for clients that cannot show a PDF (at most "
                        f"{MAX_PAGES} pages). A file that is not a PDF answers 422.")
def api_pages(doc_id: str = DocId, sha256: str = Sha256, v: Viewer = Depends(viewer),
              g: Gateway = Depends(gw)) -> dict[str, Any]:
    _doc, info = readable_file(g, v, doc_id, sha256)
    texts = _pages(_pdf_bytes(g, v, info, sha256))
    base = f"/api/v1/documents/{doc_id}/files/{sha256}/pages"
    return {"document_id": doc_id, "sha256": sha256, "name": info.get("name") or "", "capped": len(texts) == MAX_PAGES,
            "pages": [{"number": i, "text": t, "image": f"{base}/{i}"} for i, t in enumerate(texts, 1)]}


@router.get("/pages/{number}", summary="Ảnh một trang PDF", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": f"The page, {WIDTH} px wide"}})
def api_page_image(doc_id: str = DocId, sha256: str = Sha256, number: int = Path(ge=1, le=MAX_PAGES),
                   v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> Response:
    return _page_image(g, v, doc_id, sha256, number)


@router.get("/signatures", summary="Kiểm tra chữ ký số của tệp",
            description="Signing's verification report of a PDF of the document (docs/signing.md, \"Reading a "
                        "verification report\"): `verdict`, `legally_valid`, `summary_vi`, one entry per signature. "
                        "Long after issue, when the certificates have expired, the signatures that the archive "
                        "time stamp chain proves valid when signed are listed in `proven_by_archive_stamps`, with "
                        "the detail in `long_term`. A file that is not a PDF answers 422.")
def api_signatures(doc_id: str = DocId, sha256: str = Sha256, v: Viewer = Depends(viewer),
                   g: Gateway = Depends(gw)) -> dict[str, Any]:
    _doc, info = readable_file(g, v, doc_id, sha256)
    if not _is_pdf(info):
        raise ValidationFailed("Chỉ kiểm tra được chữ ký số trên tệp PDF.", field="file")
    return g.backends.call(v.actor, "signing", "verify", sha256)


def _page_image(g: Gateway, v: Viewer, doc_id: str, sha256: str, number: int) -> Response:
    _doc, info = readable_file(g, v, doc_id, sha256)
    return _png(page_png(_pdf_bytes(g, v, info, sha256), number))


def _png(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def draft_pdf(g: Gateway, v: Viewer, draft_id: int, sha256: str) -> tuple[dict[str, Any], tuple[str, str], bytes]:
    """(the draft, the file's name and label, its bytes) when the file is one of a draft the viewer may see. Every
    file of a draft is a PDF: an office file is converted when uploaded, scans and appendices are refused unless
    PDF."""
    from gateway.drafting import draft_file_name

    view = g.backends.call(v.actor, "routing", "get_draft", draft_id)
    return view, draft_file_name(view, draft_id, sha256), blob_store(g.settings, v.user.agency_id).read(sha256)


draft_router = APIRouter(prefix="/api/v1/drafts/{draft_id}/files/{sha256}", tags=["Dự thảo và công việc"],
                         responses={**COMMON_ERRORS, **NOT_FOUND}, dependencies=[Security(bearer)])
DraftId = Path(ge=1, lt=2**31, description="Số của dự thảo trong cơ quan", examples=[12])
DraftSha256 = Path(pattern=SHA256, description="SHA-256 của tệp (như trong versions, appendix_sha256s, signed_sha256)")


class DraftPdfPages(BaseModel):
    draft_id: int
    sha256: str
    name: str
    pages: list[PdfPage]
    capped: bool  # only the first MAX_PAGES pages are given: the rest is in the file itself


@draft_router.get("/pages", response_model=DraftPdfPages, summary="Đọc tệp của dự thảo từng trang (trên điện thoại)",
                  description=f"Each page's text and the path of its image, for clients that cannot show a PDF (at "
                              f"most {MAX_PAGES} pages): a version, an appendix, a scan or the signed PDF of a draft "
                              "the caller may see.")
def api_draft_pages(draft_id: int = DraftId, sha256: str = DraftSha256, v: Viewer = Depends(viewer),
                    g: Gateway = Depends(gw)) -> dict[str, Any]:
    _view, (name, _label), data = draft_pdf(g, v, draft_id, sha256)
    texts = _pages(data)
    base = f"/api/v1/drafts/{draft_id}/files/{sha256}/pages"
    return {"draft_id": draft_id, "sha256": sha256, "name": name, "capped": len(texts) == MAX_PAGES,
            "pages": [{"number": i, "text": t, "image": f"{base}/{i}"} for i, t in enumerate(texts, 1)]}


@draft_router.get("/pages/{number}", summary="Ảnh một trang tệp của dự thảo", response_class=Response,
                  responses={200: {"content": {"image/png": {}}, "description": f"The page, {WIDTH} px wide"}})
def api_draft_page_image(draft_id: int = DraftId, sha256: str = DraftSha256, number: int = Path(ge=1, le=MAX_PAGES),
                         v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> Response:
    return _png(page_png(draft_pdf(g, v, draft_id, sha256)[2], number))


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(draft_router)

    @app.get("/tep/{doc_id}/{sha256}/xem", response_class=HTMLResponse, include_in_schema=False)
    def view(request: Request, doc_id: str, sha256: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        doc, info = readable_file(g, v, doc_id, sha256)
        data = _pdf_bytes(g, v, info, sha256)
        texts = _pages(data)
        number = f"{doc.get('code_number') or ''}{'/' + doc['code_notation'] if doc.get('code_notation') else ''}"
        return render(request, "pdf_view.html", v, name=info.get("name") or "", texts=texts,
                      capped=len(texts) == MAX_PAGES, back=("Văn bản", f"/van-ban/{doc_id}",
                                                            f"{number} {doc.get('subject') or ''}".strip()),
                      download=(f"/tep/{doc_id}/{sha256}", "Tải tệp PDF gốc (có chữ ký số)"),
                      pages_at=f"/tep/{doc_id}/{sha256}/trang")

    @app.get("/tep/{doc_id}/{sha256}/trang/{number}.png", include_in_schema=False)
    def page_image(doc_id: str, sha256: str, number: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return _page_image(g, v, doc_id, sha256, number)

    @app.get("/du-thao/{draft_id}/tep/{sha256}/xem", response_class=HTMLResponse, include_in_schema=False)
    def draft_view(request: Request, draft_id: int, sha256: str, v: Viewer = Depends(viewer),
                   g: Gateway = Depends(gw)):
        draft, (_name, label), data = draft_pdf(g, v, draft_id, sha256)
        texts = _pages(data)
        return render(request, "pdf_view.html", v, name=label, texts=texts, capped=len(texts) == MAX_PAGES,
                      back=("Dự thảo", f"/du-thao/{draft_id}", draft.get("title") or ""),
                      download=(f"/du-thao/{draft_id}/tep/{sha256}", "Tải tệp PDF"),
                      pages_at=f"/du-thao/{draft_id}/tep/{sha256}/trang")

    @app.get("/du-thao/{draft_id}/tep/{sha256}/trang/{number}.png", include_in_schema=False)
    def draft_page_image(draft_id: int, sha256: str, number: int, v: Viewer = Depends(viewer),
                         g: Gateway = Depends(gw)):
        return _png(page_png(draft_pdf(g, v, draft_id, sha256)[2], number))
