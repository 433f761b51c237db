"""REST API of a draft's review, the same steps as the draft's page (gateway/drafting.py): a new version with its
file and appendices, inviting colleagues to comment, comments, submission along the agency's review chain,
return to the drafter, the files themselves, and the approval signed on paper with its scan forwarded for issue
(agency rule paper_signing, Hưng Yên Đ6.3a). Creating a draft, approving and signing (POST /drafts/{id}/approve
at the signing step: the leader's own token and PIN) and issuing are in gateway/api_clerk.py.

Routing checks who may act at each step (403 otherwise) and sees only the caller's agency (another agency's draft
number is simply a draft the caller cannot see: 404). Writes take an optional Idempotency-Key.
"""

# No `from __future__ import annotations`: _text_step annotates its route with a model chosen at run time, which
# FastAPI must see as a class, not as a string to look up in this module.
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Path, Response, Security, UploadFile
from fastapi.responses import Response as RawResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway import drafting, paper_scan
from gateway.api import COMMON_ERRORS, NOT_FOUND, bearer
from gateway.api_clerk import DraftDetail
from gateway.api_handling import STEP_ERRORS, operation_name
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.idempotency import KEY, once
from services.common.errors import NotFound

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name, tags=["Dự thảo và công việc"])
DraftId = Path(ge=1, lt=2**31, description="Số của dự thảo trong cơ quan", examples=[12])
Sha256 = Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 của tệp (như trong versions, appendix_sha256s)")
PDF = {200: {"description": "Tệp PDF", "content": {"application/pdf": {"schema": {"type": "string",
                                                                                  "format": "binary"}}}}}


def _full(g: Gateway, v: Viewer, draft_id: int, _done: dict[str, Any]) -> dict[str, Any]:
    """After an action: the whole draft (versions, comments), as GET /drafts/{id} answers it."""
    return g.backends.call(v.actor, "routing", "get_draft", draft_id)


class CommentRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000, description="Nội dung góp ý")

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "Đề nghị bổ sung căn cứ pháp lý."}]})


# A step done on paper during an outage, entered afterwards (TP.HCM Đ3.4, Hưng Yên Đ4.2; gateway/late_entry.py).
HAPPENED_AT = Field(None, max_length=40, description="Nhập muộn sau sự cố: thời điểm thực tế (YYYY-MM-DDTHH:MM, giờ "
                    "Việt Nam nếu không ghi múi giờ; không ở tương lai, không trước bước trước đó của dự thảo); để "
                    "trống: bây giờ")


class SubmitDraftRequest(BaseModel):
    note: str = Field("", max_length=2000, description="Lời trình")
    happened_at: str | None = HAPPENED_AT


class ReturnRequest(BaseModel):
    comment: str = Field(min_length=1, max_length=4000, description="Lý do trả lại, điều cần sửa")
    happened_at: str | None = HAPPENED_AT


class InviteRequest(BaseModel):
    user_ids: list[str] = Field(min_length=1, max_length=50, description="Đồng nghiệp trong cơ quan (GET /staff)")


@router.post("/drafts/{draft_id}/versions", response_model=DraftDetail, status_code=201, responses=STEP_ERRORS,
             summary="Tải lên phiên bản mới của dự thảo (kèm phụ lục)",
             description="Người soạn, khi đang soạn hoặc bị trả lại. Tệp PDF, DOCX hoặc ODT (DOCX/ODT được chuyển "
                         "sang PDF); không chọn phụ lục mới thì giữ phụ lục hiện có.")
def draft_add_version(response: Response, draft_id: int = DraftId, note: str = Form("", max_length=500),
                      file: UploadFile = File(..., description="PDF, DOCX hoặc ODT"),
                      appendices: list[UploadFile] = File([], description="Phụ lục, mỗi phụ lục một tệp PDF"),
                      key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                      g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"draft_add_version:{draft_id}", {"note": note},
                lambda: _full(g, v, draft_id, drafting.add_version(g, v, draft_id, note, file, appendices)),
                files=[file, *drafting.chosen_files(appendices)])


@router.post("/drafts/{draft_id}/invitations", response_model=DraftDetail, responses=STEP_ERRORS,
             summary="Mời đồng nghiệp góp ý dự thảo")
def draft_invite(body: InviteRequest, response: Response, draft_id: int = DraftId, key: str | None = KEY,
                 v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"draft_invite:{draft_id}", body,
                lambda: _full(g, v, draft_id, drafting.invite_commenters(g, v, draft_id, body.user_ids)))


def _text_step(path: str, model: type[BaseModel], field: str, method: str, summary: str, description: str) -> None:
    """A review step that carries one text to routing: the same routing call as the page's form
    (gateway/drafting.py TEXT_STEPS)."""
    def step(body: model, response: Response, draft_id: int = DraftId,  # type: ignore[valid-type]
             key: str | None = KEY, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
        late = {"happened_at": body.happened_at} if getattr(body, "happened_at", None) else {}
        return once(g, v, key, response, f"draft_{path}:{draft_id}", body,
                    lambda: _full(g, v, draft_id, g.backends.call(v.actor, "routing", method, draft_id,
                                                                  getattr(body, field), **late)))

    step.__name__ = f"draft_{path}"
    router.post(f"/drafts/{{draft_id}}/{path}", response_model=DraftDetail, responses=STEP_ERRORS, summary=summary,
                description=description, name=step.__name__)(step)


_text_step("comments", CommentRequest, "text", "comment_draft", "Góp ý dự thảo",
           "Người tham gia dự thảo, người được mời góp ý, người ở bước duyệt.")
_text_step("submit", SubmitDraftRequest, "note", "submit_draft", "Trình duyệt dự thảo",
           "Người soạn. Dự thảo đi theo quy trình trình duyệt của cơ quan (GET /review-chains); bước cuối là ký. "
           "`happened_at`: đã trình trên giấy lúc phần mềm ngừng hoạt động (nhập muộn).")
_text_step("return", ReturnRequest, "comment", "return_draft", "Trả lại dự thảo cho người soạn",
           "Người ở bước duyệt hiện tại. `happened_at`: đã trả lại trên giấy lúc phần mềm ngừng hoạt động.")


class PaperApprovalRequest(BaseModel):
    comment: str = Field("", max_length=2000, description="Ý kiến duyệt")
    happened_at: str | None = HAPPENED_AT


@router.post("/drafts/{draft_id}/paper-approval", response_model=DraftDetail, responses=STEP_ERRORS,
             summary="Duyệt, ký trên giấy (thay cho ký số)",
             description="Lãnh đạo ở bước ký (hoặc người được ủy quyền “approve” trong thời hạn), chỉ khi cơ quan "
                         "cho phép (quy định paper_signing = allowed; Quy chế Hưng Yên Điều 6.3a); nếu không: 403 "
                         "`paper_signing_not_allowed`. Dự thảo chuyển sang `paper_approved`, chờ người soạn "
                         "“Chuyển phát hành” kèm bản scan. Gửi lại (cùng dự thảo, cùng bước) không đổi gì. "
                         "`happened_at`: lãnh đạo đã ký bản giấy lúc phần mềm ngừng hoạt động; `paper.approved_at` "
                         "là thời điểm đó, kèm `late_entry` và `entered_at`.")
def draft_paper_approval(body: PaperApprovalRequest, response: Response, draft_id: int = DraftId,
                         key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                         g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"draft_paper_approval:{draft_id}", body,
                lambda: _full(g, v, draft_id, drafting.approve_on_paper(g, v, draft_id, body.comment,
                                                                        body.happened_at)))


class PaperScanState(BaseModel):
    state: str = Field(description="checking (đang đối chiếu) | checked (đã đối chiếu, bản scan khác bản đã duyệt: "
                       "chờ người xử lý xác nhận hoặc chọn tệp khác) | failed (không đối chiếu được; `message` nói vì "
                       "sao) | forwarded (đã chuyển phát hành)")
    sha256: str | None = Field(None, description="The scan this state is about")
    appendix_scans: list[str] = Field([], description="SHA-256 of the scans of the paper appendices sent with it, "
                                      "issued instead of the approved version's appendix files")
    confirmed: bool = Field(False, description="The handler confirmed it is the original the leader signed")
    message: str = Field(description="What the draft's page says, in Vietnamese")
    pages: list[str] = Field([], description="One Vietnamese line per page that differs (\"Trang 2: chỉ khớp 74 % — "
                             "…\"), then the blank pages of the scan left out")
    check: dict[str, Any] | None = Field(None, description="The comparison as kept: score (per cent, the lowest "
                                         "page's; null: nothing read), matches, threshold, version, scan_pages, "
                                         "approved_pages, blank_scan_pages, pages [{page, kind (differs | missing | "
                                         "extra | unreadable), score, missing, added}]")
    uploaded_at: str | None = None
    checked_at: str | None = None


@router.post("/drafts/{draft_id}/paper-scan", response_model=DraftDetail, status_code=202, responses={
                 **STEP_ERRORS, 200: {"model": DraftDetail, "description": "Đã chuyển phát hành (hoặc đã chuyển "
                                      "từ trước)"}},
             summary="Chuyển phát hành: bản scan văn bản giấy lãnh đạo đã ký",
             description="Người soạn (người xử lý) của dự thảo `paper_approved`. Tệp PDF (kiểm tra theo nội dung, "
                         "giới hạn dung lượng như các tệp khác, tối đa 30 trang; nếu không: 422 với lý do). Tệp được "
                         "lưu ngay; từng trang bản scan (lớp chữ, không có thì OCR) được so với trang tương ứng của "
                         "phiên bản lãnh đạo đã duyệt ở nền, không giữ yêu cầu: 202, `paper.scan_upload.state` = "
                         "`checking`; theo dõi bằng GET /drafts/{id}/paper-scan. Mọi trang khớp (cùng số trang): dự "
                         "thảo tự chuyển văn thư “Chờ ban hành”. Khác: chờ người xử lý gửi lại với "
                         "confirm_mismatch=true (không cần gửi lại tệp) hoặc tệp khác. confirm_mismatch=true kèm tệp: "
                         "vẫn đối chiếu (ghi điểm) rồi chuyển. Khi đã chuyển: 200, `paper.scan_check`; gửi lại sau "
                         "khi đã chuyển không đổi gì (kể cả với tệp khác). `appendix_scans` (không bắt buộc, nhiều "
                         "tệp): bản scan phụ lục giấy đã ký, mỗi tệp kiểm tra như bản scan (PDF mở được, không mật "
                         "khẩu, giới hạn dung lượng; không giới hạn trang, không đối chiếu); khi có, văn bản ban "
                         "hành kèm các bản scan này THAY CHO các tệp phụ lục của phiên bản đã duyệt.")
def draft_paper_scan(response: Response, draft_id: int = DraftId, note: str = Form("", max_length=500),
                     file: UploadFile | None = File(None, description="Bản scan (PDF) văn bản giấy đã ký; không "
                                                   "gửi: bản scan đang chờ xác nhận (với confirm_mismatch), hoặc bản "
                                                   "scan người nhập thay đã kèm (paper.entered_scan_sha256)"),
                     confirm_mismatch: bool = Form(False, description="Người xử lý đã kiểm tra: đúng là bản lãnh "
                                                   "đạo đã ký, dù bản scan không khớp phiên bản đã duyệt"),
                     appendix_scans: list[UploadFile] = File([], description="Bản scan (PDF) phụ lục giấy đã ký, "
                                                              "theo thứ tự Phụ lục 01, 02, …; thay cho các tệp phụ "
                                                              "lục của phiên bản đã duyệt. Không gửi: giữ các bản "
                                                              "đã gửi kèm bản scan đang chờ đối chiếu"),
                     key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                     g: Gateway = Depends(gw)) -> Any:
    def run() -> dict[str, Any]:
        view = _full(g, v, draft_id, paper_scan.forward_paper_scan(g, v, draft_id, note, file, confirm_mismatch,
                                                                   appendix_scans))
        response.status_code = 202 if view.get("status") == "paper_approved" else 200
        return view

    return once(g, v, key, response, f"draft_paper_scan:{draft_id}", {"note": note, "confirm_mismatch":
                                                                       confirm_mismatch}, run,
                files=[*([file] if file else []), *drafting.chosen_files(appendix_scans)])


@router.get("/drafts/{draft_id}/paper-scan", response_model=PaperScanState, responses=NOT_FOUND,
            summary="Kết quả đối chiếu bản scan với phiên bản lãnh đạo đã duyệt",
            description="Điều trang dự thảo hiển thị: đang đối chiếu, các trang khác nhau (tiếng Việt, kèm các từ "
                        "khác), không đối chiếu được, hoặc đã chuyển phát hành. 404 nếu chưa tải lên bản scan nào.")
def draft_paper_scan_state(draft_id: int = DraftId, v: Viewer = Depends(viewer),
                           g: Gateway = Depends(gw)) -> dict[str, Any]:
    state = paper_scan.scan_state(g.backends.call(v.actor, "routing", "get_draft", draft_id).get("paper"))
    if state is None:
        raise NotFound("Dự thảo chưa có bản scan nào được tải lên.", draft_id=draft_id)
    return state


@router.get("/drafts/{draft_id}/files/{sha256}", response_class=RawResponse, responses={**PDF, **NOT_FOUND},
            summary="Tải tệp của dự thảo (phiên bản, phụ lục, bản đã ký)")
def draft_file(draft_id: int = DraftId, sha256: str = Sha256, v: Viewer = Depends(viewer),
               g: Gateway = Depends(gw)) -> RawResponse:
    return drafting.draft_file_response(g, v, draft_id, sha256)
