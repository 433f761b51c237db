"""REST API of nhập thay: the person a leader entrusted (delegation scope `record`) types in the leader's paper
directive on an incoming document, and the leader's approval or return of a draft (TP.HCM QĐ 23/QĐ-VP Điều 3.2,
3.3). The same functions as the forms of the handling and draft pages (gateway/entry.py); routing checks the grant,
the leader, the step and the real time (services/routing/entry.py). Writes take an optional Idempotency-Key.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Response, Security, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from gateway import entry
from gateway.api import COMMON_ERRORS, _problem, bearer
from gateway.api_clerk import DraftDetail
from gateway.api_drafting import DraftId
from gateway.api_handling import HAPPENED_AT, STEP_ERRORS, item_id, operation_name
from gateway.api_work import TaskDetail, TaskId
from gateway.app import Gateway, Viewer, csrf_checked, gw
from gateway.dates import typed_day
from gateway.idempotency import KEY, once
from gateway.oversight import (
    IDEMPOTENCY,
    ChaseRequest,
    DeadlineRequest,
    DirectiveRequest,
    HandlersRequest,
    Handling,
    TakeBackRequest,
    Target,
)
from services.common.errors import ValidationFailed

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name, tags=["Nhập thay ý kiến lãnh đạo"])
LEADER = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
               description="Lãnh đạo đã quyết định trên giấy, người đã ủy nhiệm cho bạn nhập thay (GET /delegations: "
                           "phạm vi `record`, đang hiệu lực)")
REFUSALS = {**STEP_ERRORS, 403: _problem("Chưa được ủy nhiệm nhập thay (`no_entry_grant`), ủy nhiệm đã hết hạn hoặc "
                                         "kết thúc (`entry_grant_ended`), người được chọn không phải lãnh đạo "
                                         "(`not_a_leader`), lãnh đạo không duyệt ở bước này (`leader_not_at_step`)")}


class EnterDirective(BaseModel):
    leader_user_id: str = LEADER
    directive: str = Field(min_length=1, max_length=4000, description="Ý kiến chỉ đạo lãnh đạo đã bút phê")
    main: Target = Field(description="Đơn vị hoặc người chủ trì xử lý")
    coordinators: list[Target] = Field([], description="Đơn vị, người phối hợp")
    readers: list[Target] = Field([], description="Nhận để biết")
    deadline: str | None = Field(None, max_length=20, description="Hạn xử lý, YYYY-MM-DD (giờ Việt Nam)")
    happened_at: str | None = HAPPENED_AT

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"leader_user_id": "6b0f…", "directive": "Giao Phòng Tổng hợp chủ trì, báo cáo trước ngày 20.",
         "main": {"unit": "TH"}, "coordinators": [], "readers": [], "happened_at": "2026-12-04T23:50"}]})


class EnterDraftDecision(BaseModel):
    leader_user_id: str = LEADER
    decision: Literal["approve", "return"] = Field(description="`approve` đồng ý, chuyển bước sau (không ở bước ký: "
                                                   "chữ ký số không nhập thay được); `return` trả lại người soạn")
    step: str = Field(min_length=1, max_length=40, description="Bước dự thảo đang chờ, như `step.key` của GET "
                      "/drafts/{id}; khác bước hiện tại: 409 `step_moved`")
    comment: str = Field("", max_length=4000, description="Ý kiến của lãnh đạo (bắt buộc khi trả lại)")
    happened_at: str | None = HAPPENED_AT

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"leader_user_id": "6b0f…", "decision": "return", "step": "leader", "comment": "Bổ sung số liệu",
         "happened_at": "2026-12-04T23:55"}]})


@router.post("/handling/{incoming_id}/enter-for-leader", response_model=Handling, responses=REFUSALS,
             summary="Nhập thay bút phê, phân công của lãnh đạo",
             description="Người được lãnh đạo ủy nhiệm nhập thay (phạm vi `record`). Bút phê được ghi là của lãnh "
                         "đạo (`directed_by`, lịch sử `user_id`), kèm `data.entered_by` và lúc nhập (`at`); lãnh đạo "
                         "được báo. Gửi lại cùng văn bản, lãnh đạo và thời điểm thực tế: không ghi thêm.")
def handling_enter_for_leader(body: EnterDirective, response: Response, incoming_id: str = item_id(),
                              key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                              g: Gateway = Depends(gw)) -> dict[str, Any]:
    main = body.main.routing()
    if not main:
        raise ValidationFailed("Chọn người hoặc đơn vị chủ trì xử lý.", field="main")
    return once(g, v, key, response, f"handling_enter_for_leader:{incoming_id}", body, lambda: entry.enter_directive(
        g, v, body.leader_user_id, incoming_id, body.directive, main,
        [t.routing() for t in body.coordinators if t.routing()], [t.routing() for t in body.readers if t.routing()],
        typed_day(body.deadline), body.happened_at))


@router.post("/drafts/{draft_id}/enter-for-leader", response_model=DraftDetail, responses=REFUSALS,
             summary="Nhập thay ý kiến duyệt, trả lại dự thảo của lãnh đạo",
             description="Người được lãnh đạo ủy nhiệm nhập thay (phạm vi `record`), khi dự thảo chờ ở bước của lãnh "
                         "đạo đó. Ý kiến được ghi là của lãnh đạo (`comments[].user_id`), kèm `entered_by`; lãnh đạo "
                         "được báo. `approve` ở bước ký bị từ chối (422 `signature_not_entered_for_another`). Gửi "
                         "lại cùng dự thảo, bước, lãnh đạo và thời điểm thực tế: không ghi thêm.")
def draft_enter_for_leader(body: EnterDraftDecision, response: Response, draft_id: int = DraftId,
                           key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                           g: Gateway = Depends(gw)) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        entry.enter_draft_decision(g, v, body.leader_user_id, draft_id, body.decision, body.step, body.comment,
                                   body.happened_at)
        return g.backends.call(v.actor, "routing", "get_draft", draft_id)

    return once(g, v, key, response, f"draft_enter_for_leader:{draft_id}", body, run)


@router.post("/drafts/{draft_id}/enter-for-leader/paper-signature", response_model=DraftDetail, responses={
    **REFUSALS, 409: _problem("Dự thảo đã chuyển bước (`step_moved`), không ở bước ký (`not_signing_step`) hoặc không "
                              "chờ duyệt")},
    summary="Nhập thay việc lãnh đạo duyệt, ký trên giấy (kèm bản scan)",
    description="Người được lãnh đạo ủy nhiệm nhập thay (phạm vi `record`), khi dự thảo chờ lãnh đạo đó ở bước ký và "
                "cơ quan cho phép ký trên giấy (nếu không: 403 `paper_signing_not_allowed`). Multipart: `file` bản "
                "scan (PDF) văn bản giấy lãnh đạo đã ký. Được ghi là của lãnh đạo (`paper.approved_by`, "
                "`comments[]` `paper_sign`), kèm `paper.entered_by`, `paper.entered_scan_sha256`; lãnh đạo được "
                "báo; dự thảo chờ người soạn “Chuyển phát hành” (POST /drafts/{id}/paper-scan, có thể không gửi tệp "
                "để dùng bản scan này). Dự thảo đã duyệt trên giấy: trả lại như hiện có, không lưu tệp. Chữ ký số "
                "không nhập thay được.")
def draft_enter_paper_signature(
        response: Response, draft_id: int = DraftId,
        leader_user_id: str = Form(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
                                   description="Lãnh đạo đã duyệt, ký trên giấy"),
        step: str = Form(..., min_length=1, max_length=40, description="Bước ký, như `step.key` của GET /drafts/{id}"),
        comment: str = Form("", max_length=4000, description="Ý kiến duyệt của lãnh đạo"),
        happened_at: str | None = Form(None, max_length=40, description="Thời điểm lãnh đạo ký bản giấy "
                                       "(YYYY-MM-DDTHH:MM, giờ Việt Nam); để trống: bây giờ"),
        file: UploadFile = File(..., description="Bản scan (PDF) văn bản giấy lãnh đạo đã ký"),
        key: str | None = KEY, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        entry.enter_paper_approval(g, v, leader_user_id, draft_id, step, comment, file, happened_at)
        return g.backends.call(v.actor, "routing", "get_draft", draft_id)

    return once(g, v, key, response, f"draft_enter_paper_signature:{draft_id}",
                {"leader_user_id": leader_user_id, "step": step, "comment": comment, "happened_at": happened_at},
                run, files=[file])


# -- the leader's directing steps after the first assignment (đôn đốc, điều chỉnh hạn, chỉ đạo thêm, giao lại, thu hồi)
# The fields of the leader's own routes (gateway/oversight.py), with the leader and the time the leader decided; the
# Idempotency-Key names the business operation, as on the leader's routes: sent again, done once.

class EnteredFor(BaseModel):
    leader_user_id: str = LEADER
    happened_at: str | None = Field(None, max_length=40, description="Thời điểm lãnh đạo chỉ đạo trên giấy "
                                    "(YYYY-MM-DDTHH:MM, giờ Việt Nam nếu không ghi múi giờ; không ở tương lai, "
                                    "không trước bước xử lý trước đó); để trống: bây giờ")


class EnterChase(ChaseRequest, EnteredFor):
    pass


class EnterDeadline(DeadlineRequest, EnteredFor):
    pass


class EnterFurtherDirective(DirectiveRequest, EnteredFor):
    pass


class EnterHandlers(HandlersRequest, EnteredFor):
    pass


class EnterTakeBack(TakeBackRequest, EnteredFor):
    pass


LATER = ("Người được lãnh đạo ủy nhiệm nhập thay (phạm vi `record`), khi văn bản đã giao (đang xử lý). Được ghi là "
         "bước của lãnh đạo (lịch sử `user_id`), kèm `data.entered_by` và lúc nhập (`at`); lãnh đạo được báo. "
         "Cùng Idempotency-Key: thực hiện một lần.")
LATER_REFUSALS = {**REFUSALS, 409: _problem("Văn bản không ở trạng thái đang xử lý")}


def _enter_later(g: Gateway, v: Viewer, body: EnteredFor, incoming_id: str, action: str, key: str,
                 fields: dict[str, Any]) -> dict[str, Any]:
    return entry.enter_oversight(g, v, body.leader_user_id, incoming_id, action, key, fields, body.happened_at)


@router.post("/handling/{incoming_id}/enter-for-leader/chase", response_model=Handling, responses=LATER_REFUSALS,
             summary="Nhập thay đôn đốc của lãnh đạo",
             description=LATER + " Người xử lý chính được báo đôn đốc mang tên lãnh đạo.")
def handling_enter_chase(body: EnterChase, incoming_id: str = item_id(), key: str = IDEMPOTENCY,
                         v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _enter_later(g, v, body, incoming_id, "chase", key, {"note": body.note})


@router.post("/handling/{incoming_id}/enter-for-leader/deadline", response_model=Handling, responses=LATER_REFUSALS,
             summary="Nhập thay điều chỉnh hạn xử lý của lãnh đạo", description=LATER)
def handling_enter_deadline(body: EnterDeadline, incoming_id: str = item_id(), key: str = IDEMPOTENCY,
                            v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _enter_later(g, v, body, incoming_id, "deadline", key, {"deadline": body.deadline, "reason": body.reason})


@router.post("/handling/{incoming_id}/enter-for-leader/directive", response_model=Handling,
             responses=LATER_REFUSALS, summary="Nhập thay chỉ đạo thêm của lãnh đạo", description=LATER)
def handling_enter_directive(body: EnterFurtherDirective, incoming_id: str = item_id(), key: str = IDEMPOTENCY,
                             v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _enter_later(g, v, body, incoming_id, "directive", key, {"text": body.text})


@router.post("/handling/{incoming_id}/enter-for-leader/handlers", response_model=Handling, responses=LATER_REFUSALS,
             summary="Nhập thay giao lại người xử lý của lãnh đạo", description=LATER)
def handling_enter_handlers(body: EnterHandlers, incoming_id: str = item_id(), key: str = IDEMPOTENCY,
                            v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    coordinators = [c.routing() for c in body.coordinators] if body.coordinators is not None else None
    return _enter_later(g, v, body, incoming_id, "handlers", key, {
        "main": body.main.routing() if body.main and body.main.routing() else None, "coordinators": coordinators,
        "note": body.note})


@router.post("/handling/{incoming_id}/enter-for-leader/take-back", response_model=Handling,
             responses=LATER_REFUSALS, summary="Nhập thay thu hồi văn bản của lãnh đạo", description=LATER)
def handling_enter_take_back(body: EnterTakeBack, incoming_id: str = item_id(), key: str = IDEMPOTENCY,
                             v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _enter_later(g, v, body, incoming_id, "take_back", key, {"reason": body.reason})


# -- the leader's opinion on a task they take part in (Điều 3 khoản 3: "ý kiến ... trên hồ sơ xử lý") ---------------

class EnterTaskOpinion(EnteredFor):
    text: str = Field(min_length=1, max_length=4000, description="Ý kiến lãnh đạo đã ghi trên hồ sơ công việc")


@router.post("/tasks/{task_id}/enter-for-leader", response_model=TaskDetail, responses={
    **REFUSALS, 403: _problem("Chưa được ủy nhiệm nhập thay (`no_entry_grant`), ủy nhiệm đã hết hạn hoặc kết thúc "
                              "(`entry_grant_ended`), người được chọn không phải lãnh đạo (`not_a_leader`), lãnh đạo "
                              "không tham gia công việc (`leader_not_in_task`)")},
    summary="Nhập thay ý kiến của lãnh đạo về công việc",
    description="Người được lãnh đạo ủy nhiệm nhập thay (phạm vi `record`), trên công việc lãnh đạo đó giao, thực "
                "hiện hoặc phối hợp. Ý kiến được ghi là của lãnh đạo (`comments[].user_id`), kèm `entered_by`, "
                "`happened_at` (thời điểm lãnh đạo cho ý kiến) và lúc nhập (`at`); người tham gia và lãnh đạo được "
                "báo. Cùng Idempotency-Key: thực hiện một lần.")
def task_enter_for_leader(body: EnterTaskOpinion, task_id: int = TaskId, key: str = IDEMPOTENCY,
                          v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return entry.enter_task_opinion(g, v, body.leader_user_id, task_id, body.text, key, body.happened_at)
