"""REST API of the agency's internal notices (thông báo nội bộ, with read receipts), a leader's delegations (ủy
quyền) and the person's in-app reminders (nhắc việc): the same actions as the screens /thong-bao, /uy-quyen and
/nhac-viec (gateway/work.py), through the same shared functions. Routing checks role and agency again: another
agency's notice or delegation is answered 404, like a missing one. Writes take an optional Idempotency-Key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, Security
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway import work
from gateway.api import COMMON_ERRORS, NOT_FOUND, Page, PageNo, PageSize, bearer
from gateway.api_handling import STEP_ERRORS, operation_name
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.idempotency import KEY, once

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name)
TAG_NOTICE, TAG_DELEGATION, TAG_REMINDER = "Thông báo nội bộ", "Ủy quyền", "Nhắc việc"
# PostgreSQL refuses NUL in text: a NUL in a title is refused as invalid instead of reaching the database.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
NoticeId = Path(ge=1, lt=2**31, description="Số thông báo trong cơ quan", examples=[3])
DelegationId = Path(ge=1, lt=2**31, description="Số ủy quyền trong cơ quan (GET /delegations)", examples=[2])
ReminderId = Path(ge=1, lt=2**31, description="Số nhắc việc (GET /reminders)", examples=[15])
MOMENT = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$"


# -- notices -----------------------------------------------------------------------------------------------------------

class Notice(BaseModel):
    model_config = ConfigDict(extra="allow")

    notice_id: int
    title: str
    body: str = ""
    units: list[str] | None = Field(None, description="Đơn vị nhận; null: toàn cơ quan")
    published_by: str = Field(description="Người đăng (user id)")
    published_at: str | None = Field(None, description="Giờ Việt Nam")
    read_at: str | None = Field(None, description="Lúc người gọi đã đọc; null: chưa đọc")


class NoticeReaders(BaseModel):
    notice_id: int
    read: list[dict[str, Any]] = Field(description="Người đã đọc: user_id, read_at")
    not_read: list[str] = Field(description="Người trong phạm vi nhận chưa đọc (user id)")


class NoticeDetail(Notice):
    readers: NoticeReaders | None = Field(None, description="Ai đã đọc, ai chưa: chỉ người đăng và lãnh đạo")


class PublishNotice(BaseModel):
    title: Text = Field(min_length=1, max_length=300, description="Tiêu đề thông báo")
    body: Text = Field("", max_length=20_000, description="Nội dung")
    units: list[Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]] = Field(
        [], max_length=100, description="Đơn vị nhận (mã đơn vị như ở GET /staff); để trống: toàn cơ quan. Trưởng "
                                        "phòng chỉ gửi được cho đơn vị mình")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"title": "Lịch nghỉ Tết Nguyên đán", "body": "Cơ quan nghỉ từ ngày 14/02 đến hết ngày 22/02.",
         "units": []}]})


@router.get("/notices", response_model=Page[Notice], tags=[TAG_NOTICE], summary="Thông báo nội bộ",
            description="Các thông báo gửi cho người gọi (toàn cơ quan hoặc đơn vị mình) và do người gọi đăng, "
                        "mới nhất trước, từng trang (`total` đếm mọi thông báo người gọi đọc được); `read_at` cho "
                        "biết đã đọc chưa.")
def notice_list(page: int = PageNo, size: int = PageSize,
                unread_only: bool = Query(False, description="Chỉ thông báo chưa đọc"), v: Viewer = Depends(viewer),
                g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "list_notices", page, size, unread_only)


@router.post("/notices", response_model=Notice, status_code=201, responses=STEP_ERRORS, tags=[TAG_NOTICE],
             summary="Đăng thông báo nội bộ", description="Lãnh đạo, văn thư, quản trị; trưởng phòng cho đơn vị "
                                                           "mình. Người nhận được nhắc việc.")
def notice_publish(body: PublishNotice, response: Response, key: str | None = KEY,
                   v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, "notice_publish", body,
                lambda: work.publish_notice(g, v, body.title, body.body, list(body.units)))


@router.get("/notices/{notice_id}", response_model=NoticeDetail, responses=NOT_FOUND, tags=[TAG_NOTICE],
            summary="Mở một thông báo (ghi nhận đã đọc)",
            description="Như màn hình: mở thông báo là xác nhận đã đọc (một lần mỗi người). Người đăng và lãnh đạo "
                        "thấy thêm `readers`.")
def notice_open(notice_id: int = NoticeId, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict:
    notice, readers = work.open_notice(g, v, notice_id)
    return {**notice, "readers": readers}


# -- delegations -------------------------------------------------------------------------------------------------------

class Delegation(BaseModel):
    model_config = ConfigDict(extra="allow")

    delegation_id: int
    leader_user_id: str = Field(description="Lãnh đạo ủy quyền")
    delegate_user_id: str = Field(description="Người được ủy quyền")
    scopes: list[str] = Field(description="assign, supervise, approve, record")
    starts_at: str | None = Field(None, description="Giờ Việt Nam")
    ends_at: str | None = None
    revoked_at: str | None = Field(None, description="Lúc kết thúc trước hạn; null: chưa")
    active: bool = Field(description="Đang có hiệu lực lúc này")


class Delegate(BaseModel):
    delegate_user_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
                                  description="Người được ủy quyền (GET /staff), không phải chính mình")
    starts_at: str = Field(pattern=MOMENT, description="Bắt đầu, YYYY-MM-DDTHH:MM (giờ Việt Nam)")
    ends_at: str = Field(pattern=MOMENT, description="Kết thúc, YYYY-MM-DDTHH:MM (giờ Việt Nam), sau lúc bắt đầu")
    scopes: list[Literal[tuple(work.SCOPE_LABELS)]] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=4, description="Phạm vi: " + "; ".join(
            f"`{k}` {label}" for k, label in work.SCOPE_LABELS.items()) + " (`approve` khi cơ quan cho phép)")
    note: Text = Field("", max_length=2000, description="Ghi chú gửi người được ủy quyền")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"delegate_user_id": "3c2b1a90-0000-4000-8000-000000000001", "starts_at": "2026-12-07T08:00",
         "ends_at": "2026-12-11T17:00", "scopes": ["assign", "supervise"], "note": "Đi công tác"}]})


@router.get("/delegations", response_model=list[Delegation], tags=[TAG_DELEGATION], summary="Ủy quyền",
            description="Các ủy quyền người gọi đã cho (lãnh đạo) hoặc đã nhận.")
def delegation_list(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return g.backends.call(v.actor, "routing", "list_delegations")


@router.post("/delegations", response_model=Delegation, status_code=201, responses=STEP_ERRORS,
             tags=[TAG_DELEGATION], summary="Ủy quyền cho người khác trong một thời gian",
             description="Lãnh đạo. Người được ủy quyền nhận nhắc việc.")
def delegation_create(body: Delegate, response: Response, key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                      g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, "delegation_create", body, lambda: work.delegate(
        g, v, body.delegate_user_id, body.starts_at, body.ends_at, list(body.scopes), body.note))


@router.post("/delegations/{delegation_id}/revoke", response_model=Delegation, responses=STEP_ERRORS,
             tags=[TAG_DELEGATION], summary="Kết thúc ủy quyền trước hạn",
             description="Lãnh đạo đã ủy quyền; gọi lại khi đã kết thúc: không đổi gì.")
def delegation_revoke(response: Response, delegation_id: int = DelegationId, key: str | None = KEY,
                      v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"delegation_revoke:{delegation_id}", None,
                lambda: g.backends.call(v.actor, "routing", "revoke_delegation", delegation_id))


# -- reminders ---------------------------------------------------------------------------------------------------------

class Reminder(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    kind: str = Field(description="Loại: due_soon, overdue, notice, delegation, task, …")
    title: str
    body: str | None = None
    ref_kind: str | None = Field(None, description="Loại việc liên quan: incoming, draft, task, notice, …")
    ref_id: str | int | None = None
    created_at: str | None = Field(None, description="Giờ Việt Nam")
    read_at: str | None = Field(None, description="null: chưa đọc")
    email_state: str | None = None


class ReminderRead(BaseModel):
    id: int
    read: bool = True


@router.get("/reminders", response_model=list[Reminder], tags=[TAG_REMINDER], summary="Nhắc việc của tôi",
            description="Mới nhất trước, như màn hình /nhac-viec.")
def reminder_list(unread_only: bool = Query(False, description="Chỉ nhắc việc chưa đọc"),
                  limit: int = Query(100, ge=1, le=100), v: Viewer = Depends(viewer),
                  g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return g.backends.call(v.actor, "routing", "list_notifications", unread_only, limit)


@router.post("/reminders/{notification_id}/read", response_model=ReminderRead, responses=STEP_ERRORS,
             tags=[TAG_REMINDER], summary="Đánh dấu nhắc việc đã đọc", description="Chỉ nhắc việc của chính mình.")
def reminder_read(notification_id: int = ReminderId, v: Viewer = Depends(csrf_checked),
                  g: Gateway = Depends(gw)) -> dict[str, Any]:
    g.backends.call(v.actor, "routing", "mark_notification_read", notification_id)
    return {"id": notification_id, "read": True}
