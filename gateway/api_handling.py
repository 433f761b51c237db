"""REST API of an incoming document's way through the agency, the same steps as the screens (gateway/documents.py
"Tiếp nhận và vào sổ", "Từ chối"; gateway/handling.py): register, reject, submit to a leader (trình), direct and
assign (bút phê, giao xử lý), re-assign inside a unit, forward, confirm reading, link, and the main handler's
endings (lưu tham khảo, kết thúc, tạm dừng, tiếp tục) and the coordinators' opinions (NĐ 30/2020 Điều 22-24).

Each route calls the same function or service method as its form; the services check role and agency again (another
agency's id answers 404, a wrong role 403). Writes take an optional Idempotency-Key (gateway/idempotency.py).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, Security
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from gateway import handling
from gateway.api import COMMON_ERRORS, DOC_ID, NOT_FOUND, DocumentDetail, _document, _problem, bearer
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.dates import typed_day
from gateway.idempotency import KEY, once
from gateway.oversight import Handling, Target
from gateway.registers import _registers
from services.common.errors import ValidationFailed
from services.registry.catalog import REJECT_REASONS


def operation_name(route: APIRoute) -> str:
    """Stable operationIds: the route function's name (unique across /api/v1), e.g. `handling_submit`."""
    return route.name


router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name)
STEP_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: _problem("Văn bản không ở bước cho phép thao tác này (đã chuyển bước, đã kết thúc), hoặc khóa "
                  "Idempotency-Key đang được xử lý"),
    422: _problem("Dữ liệu không hợp lệ, hoặc khóa Idempotency-Key đã dùng cho một yêu cầu khác"),
}


def item_id() -> Any:
    # A fresh Path per route: FastAPI records the parameter's name on the object it is given (doc_id, incoming_id).
    return Path(pattern=DOC_ID, description="Mã văn bản đến trong cơ quan (như ở /incoming/{id})",
                examples=["a3f1c2d4-0b1e-4c55-9d7e-2f1a3b4c5d6e"])

TAG_IN, TAG_DO = "Văn bản đến", "Xử lý văn bản đến"


class Person(BaseModel):
    model_config = ConfigDict(extra="allow")

    user_id: str
    username: str | None = None
    full_name: str | None = None
    unit: str | None = None
    roles: list[str] = []
    position: str | None = None


class RegisterIncoming(BaseModel):
    register_id: str | None = Field(None, max_length=64, description="Sổ văn bản đến của năm nay; mặc định: sổ "
                                    "đang mở đầu tiên (GET /registers?direction=incoming)")

    model_config = ConfigDict(json_schema_extra={"examples": [{"register_id": None}]})


class RejectIncoming(BaseModel):
    reason_code: Literal[tuple(REJECT_REASONS)] = Field(  # type: ignore[valid-type]
        description="Lý do từ chối: " + "; ".join(f"`{k}` {v}" for k, v in REJECT_REASONS.items()))
    text: str = Field(min_length=1, max_length=2000, description="Giải thích gửi lại cơ quan gửi")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reason_code": "WRONG_RECIPIENT", "text": "Văn bản gửi nhầm cơ quan, đề nghị gửi Sở Tài chính."}]})


# Late entry after an outage (TP.HCM Đ3.4, Hưng Yên Đ4.2): the real time of a step done while the software was down.
HAPPENED_AT = Field(None, max_length=40, description="Nhập muộn sau sự cố: thời điểm thực tế (YYYY-MM-DDTHH:MM, giờ "
                    "Việt Nam nếu không ghi múi giờ; không ở tương lai, không trước lúc vào sổ hay bước xử lý trước "
                    "đó); để trống: bây giờ")


def _late(happened_at: str | None) -> dict[str, str]:
    return {"happened_at": happened_at} if happened_at else {}


class SubmitRequest(BaseModel):
    to_user_id: str | None = Field(None, max_length=64, description="Lãnh đạo được trình (GET /staff); mặc định: "
                                   "người phân phối văn bản của cơ quan")
    note: str = Field("", max_length=2000, description="Ý kiến đề xuất của văn thư")
    happened_at: str | None = HAPPENED_AT

    model_config = ConfigDict(json_schema_extra={"examples": [{"to_user_id": "6b0f…", "note": "Kính trình đồng chí"}]})


class DirectRequest(BaseModel):
    directive: str = Field(min_length=1, max_length=4000, description="Ý kiến chỉ đạo (bút phê)")
    main: Target = Field(description="Đơn vị hoặc người chủ trì xử lý")
    coordinators: list[Target] = Field([], description="Đơn vị, người phối hợp")
    readers: list[Target] = Field([], description="Nhận để biết")
    deadline: str | None = Field(None, max_length=20, description="Hạn xử lý, YYYY-MM-DD (giờ Việt Nam); mặc định: "
                                 "hạn trên văn bản hoặc hạn mặc định của cơ quan; ngày đã qua: 422 "
                                 "deadline_past")
    happened_at: str | None = HAPPENED_AT

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"directive": "Giao Phòng Tổng hợp chủ trì, tham mưu trả lời trước ngày 20.", "main": {"unit": "TH"},
         "coordinators": [{"user_id": "6b0f…"}], "readers": [], "deadline": "2026-12-20"}]})


class ReassignRequest(BaseModel):
    user_id: str | None = Field(None, max_length=64, description="Người trong đơn vị của trưởng phòng hoặc một đơn "
                                "vị trực thuộc đơn vị đó")
    unit: str | None = Field(None, max_length=40, description="Hoặc một đơn vị trực thuộc (lãnh đạo đơn vị đó giao "
                             "tiếp; Bình Định QĐ 376 Đ4.1 Bước 3); gửi một trong hai: user_id hoặc unit")
    kind: Literal["main", "coordinator", "info"] = Field("main", description="main xử lý chính, coordinator phối "
                                                         "hợp, info để biết")
    note: str = Field("", max_length=2000)
    happened_at: str | None = HAPPENED_AT


class ForwardRequest(BaseModel):
    to_user_id: str = Field(max_length=64, description="Người nhận xử lý tiếp (GET /staff)")
    note: str = Field("", max_length=2000)
    happened_at: str | None = HAPPENED_AT


class NoteRequest(BaseModel):
    note: str = Field("", max_length=4000, description="Ghi chú, lý do hoặc nội dung ý kiến")

    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "Đã trao đổi, lưu tham khảo."}]})


class LateNoteRequest(NoteRequest):
    happened_at: str | None = HAPPENED_AT


class LinkRequest(BaseModel):
    kind: Literal[tuple(handling.LINK_KINDS)] = Field(  # type: ignore[valid-type]
        description="Loại: " + ", ".join(f"`{k}` {v}" for k, v in handling.LINK_KINDS.items()))
    target_id: str = Field(min_length=1, max_length=64, description="Mã của văn bản, dự thảo, công việc hoặc hồ sơ")


class Links(BaseModel):
    links: list[dict[str, Any]] = Field(description="Các liên kết của văn bản: kind, id")


def _open_register(g: Gateway, v: Viewer, direction: str) -> str:
    registers = _registers(g, v, direction)
    if not registers:
        raise ValidationFailed("Chưa có sổ văn bản của năm nay đang mở; quản trị viên cần mở sổ.", field="register_id")
    return str(registers[0]["id"])


# -- register, reject ----------------------------------------------------------------------------------------------

@router.post("/incoming/{doc_id}/register", response_model=DocumentDetail, responses=STEP_ERRORS, tags=[TAG_IN],
             summary="Tiếp nhận và vào sổ văn bản đến",
             description="Văn thư. Cấp số đến trong sổ đã chọn (NĐ 30/2020 Điều 22); sau đó văn bản chờ trình "
                         "(POST /handling/{id}/submit).")
def incoming_register(body: RegisterIncoming, response: Response, doc_id: str = item_id(), key: str | None = KEY,
                      v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        _document(g, v, doc_id, "incoming")  # an outgoing id here is simply not an incoming document: 404
        register_id = body.register_id or _open_register(g, v, "incoming")
        g.backends.call(v.actor, "registry", "accept_incoming", doc_id, register_id)
        return _document(g, v, doc_id, "incoming")

    return once(g, v, key, response, f"incoming_register:{doc_id}", body, run)


@router.post("/incoming/{doc_id}/reject", response_model=DocumentDetail, responses=STEP_ERRORS, tags=[TAG_IN],
             summary="Từ chối tiếp nhận văn bản đến",
             description="Văn thư. Cơ quan gửi nhận trạng thái 02 (từ chối) kèm lý do.")
def incoming_reject(body: RejectIncoming, response: Response, doc_id: str = item_id(), key: str | None = KEY,
                    v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        _document(g, v, doc_id, "incoming")
        g.backends.call(v.actor, "registry", "reject_incoming", doc_id, body.reason_code, body.text)
        return _document(g, v, doc_id, "incoming")

    return once(g, v, key, response, f"incoming_reject:{doc_id}", body, run)


# -- handling --------------------------------------------------------------------------------------------------------

@router.get("/handling", response_model=list[Handling], tags=[TAG_DO], summary="Hộp văn bản đến đang xử lý",
            description="`mine` cần xử lý, `to_submit` chờ trình (văn thư), `to_direct` chờ cho ý kiến, `done` đã "
                        "xử lý, `all` tất cả (lãnh đạo, văn thư, quản trị).")
def handling_list(box: Literal["mine", "to_submit", "to_direct", "done", "all"] = Query("mine"),
                  v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return g.backends.call(v.actor, "routing", "list_incoming", box)


@router.get("/staff", response_model=list[Person], tags=[TAG_DO], summary="Cán bộ của cơ quan (để chọn người nhận)")
def staff_list(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return g.backends.call(v.actor, "routing", "list_staff")


@router.post("/handling/{incoming_id}/submit", response_model=Handling, responses=STEP_ERRORS, tags=[TAG_DO],
             summary="Trình lãnh đạo cho ý kiến", description="Văn thư, sau khi vào sổ. Lãnh đạo được báo ngay.")
def handling_submit(body: SubmitRequest, response: Response, incoming_id: str = item_id(), key: str | None = KEY,
                    v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"handling_submit:{incoming_id}", body,
                lambda: handling.submit_incoming(g, v, incoming_id, body.to_user_id, body.note,
                                                 body.happened_at or None))


@router.post("/handling/{incoming_id}/direct", response_model=Handling, responses=STEP_ERRORS, tags=[TAG_DO],
             summary="Bút phê và giao xử lý (chủ trì, phối hợp, để biết, hạn xử lý)",
             description="Lãnh đạo, người được trình, hoặc người được lãnh đạo ủy quyền phân công.")
def handling_direct(body: DirectRequest, response: Response, incoming_id: str = item_id(), key: str | None = KEY,
                    v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    main = body.main.routing()
    if not main:
        raise ValidationFailed("Chọn người hoặc đơn vị chủ trì xử lý.", field="main")
    return once(g, v, key, response, f"handling_direct:{incoming_id}", body, lambda: handling.direct_incoming(
        g, v, incoming_id, body.directive, main, [t.routing() for t in body.coordinators if t.routing()],
        [t.routing() for t in body.readers if t.routing()], typed_day(body.deadline), body.happened_at or None))


@router.post("/handling/{incoming_id}/reassign", response_model=Handling, responses=STEP_ERRORS, tags=[TAG_DO],
             summary="Giao lại trong đơn vị", description="Trưởng đơn vị được giao: chọn người trong đơn vị hoặc "
             "các đơn vị trực thuộc, hoặc một đơn vị trực thuộc (`unit`).")
def handling_reassign(body: ReassignRequest, response: Response, incoming_id: str = item_id(), key: str | None = KEY,
                      v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"handling_reassign:{incoming_id}", body,
                lambda: handling.reassign_incoming(g, v, incoming_id, body.user_id, body.kind, body.note,
                                                   body.happened_at or None, body.unit))


@router.post("/handling/{incoming_id}/forward", response_model=Handling, responses=STEP_ERRORS, tags=[TAG_DO],
             summary="Chuyển xử lý cho người khác", description="Người xử lý chính.")
def handling_forward(body: ForwardRequest, response: Response, incoming_id: str = item_id(), key: str | None = KEY,
                     v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"handling_forward:{incoming_id}", body, lambda: g.backends.call(
        v.actor, "routing", "forward_incoming", incoming_id, body.to_user_id, body.note, **_late(body.happened_at)))


@router.post("/handling/{incoming_id}/read", response_model=Handling, responses=NOT_FOUND, tags=[TAG_DO],
             summary="Xác nhận đã đọc (người nhận để biết)")
def handling_read(incoming_id: str = item_id(), v: Viewer = Depends(csrf_checked),
                  g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "mark_read", incoming_id)  # idempotent in itself: read once


@router.post("/handling/{incoming_id}/links", response_model=Links, responses=STEP_ERRORS, tags=[TAG_DO],
             summary="Liên kết văn bản với văn bản, dự thảo, công việc hoặc hồ sơ khác")
def handling_link(body: LinkRequest, incoming_id: str = item_id(), v: Viewer = Depends(csrf_checked),
                  g: Gateway = Depends(gw)) -> dict[str, Any]:
    return handling.link_incoming(g, v, incoming_id, body.kind, body.target_id)  # a link exists once


# The main handler's endings and the coordinator's opinion: one text each, the same routing calls as the forms
# (gateway/handling.py TEXT_STEPS). path -> (routing method, summary, description)
NOTE_STEPS = {
    "keep": ("keep_for_reference", "Lưu tham khảo và kết thúc", "Người xử lý chính; văn bản không cần trả lời."),
    "close": ("close_no_action", "Kết thúc, không cần xử lý", "Người xử lý chính; `note` là lý do (bắt buộc)."),
    "wait": ("mark_waiting", "Tạm dừng chờ (ý kiến, hồ sơ bổ sung)", "Người xử lý chính."),
    "resume": ("resume_incoming", "Tiếp tục xử lý sau khi tạm dừng", "Người xử lý chính."),
    "opinion": ("send_opinion", "Gửi ý kiến phối hợp", "Người phối hợp; `note` là nội dung ý kiến."),
}


def _note_step(path: str, method: str, summary: str, description: str) -> None:
    # each of these steps may be entered after an outage with its real time (happened_at)
    def step(body: LateNoteRequest, response: Response, incoming_id: str = item_id(), key: str | None = KEY,
             v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
        late = _late(body.happened_at)
        return once(g, v, key, response, f"handling_{path}:{incoming_id}", body,
                    lambda: g.backends.call(v.actor, "routing", method, incoming_id, body.note, **late))

    step.__name__ = f"handling_{path}"
    router.post(f"/handling/{{incoming_id}}/{path}", response_model=Handling, responses=STEP_ERRORS, tags=[TAG_DO],
                summary=summary, description=description, name=step.__name__)(step)


for _path, (_method, _summary, _description) in NOTE_STEPS.items():
    _note_step(_path, _method, _summary, _description)
