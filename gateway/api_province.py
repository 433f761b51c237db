"""REST API of the province operator (Sở TTTT): hosted agencies and onboarding, agency admins, locking an account
anywhere, maintenance notices, the problem queue, usage per agency and the six-monthly report. The same logic as
the screens (gateway/province.py); errors are problem+json (gateway/api.py). Reading the current maintenance
notices is open to anyone signed in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Response, Security
from pydantic import BaseModel, Field

from gateway.api import COMMON_ERRORS, NOT_FOUND, _problem, bearer
from gateway.app import Gateway, Viewer, gw, viewer
from gateway.platform import AgencyForm, agency_view
from gateway.province import current_half, names, operations_file
from gateway.province import operator_post as operator_write
from gateway.province import operator_viewer as operator
from gateway.province_ops import problem_queue, usage
from services.common.errors import NotFound, ValidationFailed

TAG = "Vận hành nền tảng"
ORGAN = r"^[0-9A-Za-z.]{1,32}$"
router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)], tags=[TAG])
WRITE_ERRORS = {**NOT_FOUND, 409: _problem("Cơ quan đang bị ngừng sử dụng")}


class Agency(BaseModel):
    organ_id: str
    name: str
    parent_name: str = ""
    place: str = ""
    abbreviation: str = ""
    installation: str = Field(description="The installation (agency process group) whose services serve it")
    hub: str = ""
    disabled: bool
    created_at: str | None = None
    disabled_at: str | None = None
    warnings: list[str] = Field([], description="After a change: what is not done yet, in Vietnamese (a copy of the "
                                                "directory the hubs read was not written)")


class AgencyRequest(BaseModel):
    organ_id: str = Field(min_length=1, max_length=32, description="Mã định danh (QCVN 102:2016), e.g. 000.00.12.H60")
    name: str = Field(min_length=1, max_length=300)
    installation: str = Field("", max_length=64,
                              description="Default: the installation serving the operator's own agency")
    parent_name: str = Field("", max_length=300)
    place: str = Field("", max_length=100)
    abbreviation: str = Field("", max_length=32)
    admin_full_name: str = Field("", max_length=100, description="Default: 'Quản trị <agency name>'")
    admin_unit: str = Field("", max_length=32, description="Unit code in the admin's account name")


class RecordRequest(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    parent_name: str = Field("", max_length=300)
    place: str = Field("", max_length=100)


class AdminIssued(BaseModel):
    username: str
    password: str = Field(description="Shown once; the person must change it at first sign-in")
    full_name: str


class Onboarding(BaseModel):
    agency: Agency
    created: bool = Field(description="false: the agency was there already; nothing was made twice")
    admin: AdminIssued | None = Field(None, description="Only when the account was made by this call")
    warnings: list[str] = []


class AdminRequest(BaseModel):
    full_name: str = Field(min_length=1, max_length=100)
    unit: str = Field("qt", max_length=32)


class Account(BaseModel):
    user_id: str
    username: str
    full_name: str
    agency_id: str
    roles: list[str]
    disabled: bool


class NoticeRequest(BaseModel):
    starts_at: str = Field(description="Vietnam time, YYYY-MM-DDTHH:MM")
    ends_at: str = Field(description="Vietnam time, YYYY-MM-DDTHH:MM")
    message: str = Field(min_length=1, max_length=1000)


class Notice(BaseModel):
    id: int
    starts_at: str
    ends_at: str
    message: str
    published_by: str
    state: str = Field(description="upcoming | ongoing | ended | withdrawn")


class ProblemItem(BaseModel):
    id: int
    agency_id: str
    agency_name: str
    number: str
    reporter_name: str
    function: str
    state: str = Field(description="open | done | not_done")
    created_at: str
    due_at: str = Field(description="End of the 3rd working day after filing (Đà Nẵng QĐ 8849 Đ10.3)")
    handled_at: str | None
    overdue: bool
    handled_late: bool


class Usage(BaseModel):
    organ_id: str
    name: str
    disabled: bool
    available: bool = Field(description="false: the agency's services did not answer; its figures are 0")
    registered: int
    issued: int
    sent: int
    received: int
    signed: int = Field(description="outgoing documents issued in the period and signed electronically")
    signed_share: float
    overdue: int
    active_users: int


def _account(user) -> dict[str, Any]:
    return {"user_id": user.id, "username": user.username, "full_name": user.full_name, "agency_id": user.agency_id,
            "roles": list(user.roles or []), "disabled": bool(user.disabled)}


@router.get("/agencies", response_model=list[Agency], summary="Các cơ quan trên nền tảng")
def list_agencies(_v: Viewer = Depends(operator), g: Gateway = Depends(gw)) -> list[dict]:
    return [agency_view(a) for a in g.platform.agencies()]


@router.post("/agencies", response_model=Onboarding, responses=WRITE_ERRORS,
             summary="Thêm cơ quan (lặp lại không tạo trùng; không khởi động lại gì)")
def add_agency(body: AgencyRequest, response: Response, v: Viewer = Depends(operator_write),
               g: Gateway = Depends(gw)) -> dict:
    done = g.platform.add(AgencyForm(**body.model_dump()), v.user)
    response.status_code = 201 if done.created else 200
    return {"agency": done.agency, "created": done.created, "admin": done.admin, "warnings": done.warnings}


@router.get("/agencies/{organ_id}", response_model=Agency, responses=NOT_FOUND, summary="Hồ sơ một cơ quan")
def get_agency(organ_id: str = Path(pattern=ORGAN), _v: Viewer = Depends(operator),
               g: Gateway = Depends(gw)) -> dict:
    return agency_view(g.platform.get(organ_id))


@router.put("/agencies/{organ_id}", response_model=Agency, responses=NOT_FOUND,
            summary="Sửa hồ sơ cơ quan (tên, cơ quan chủ quản, địa danh), như nút “Lưu hồ sơ”")
def update_agency(body: RecordRequest, organ_id: str = Path(pattern=ORGAN), v: Viewer = Depends(operator_write),
                  g: Gateway = Depends(gw)) -> dict:
    return g.platform.update_record(organ_id, body.name, body.parent_name, body.place, v.user)


@router.post("/agencies/{organ_id}/disable", response_model=Agency, responses=NOT_FOUND,
             summary="Ngừng cơ quan: không ai của cơ quan đăng nhập được; dữ liệu giữ nguyên; gói tin gửi đến bị "
                     "từ chối (02)")
def disable_agency(organ_id: str = Path(pattern=ORGAN), v: Viewer = Depends(operator_write),
                   g: Gateway = Depends(gw)) -> dict:
    return g.platform.set_disabled(organ_id, True, v.user)


@router.post("/agencies/{organ_id}/enable", response_model=Agency, responses=NOT_FOUND,
             summary="Cho cơ quan hoạt động lại")
def enable_agency(organ_id: str = Path(pattern=ORGAN), v: Viewer = Depends(operator_write),
                  g: Gateway = Depends(gw)) -> dict:
    return g.platform.set_disabled(organ_id, False, v.user)


@router.post("/agencies/{organ_id}/admins", response_model=AdminIssued, status_code=201, responses=NOT_FOUND,
             summary="Tạo tài khoản quản trị của cơ quan")
def add_admin(body: AdminRequest, organ_id: str = Path(pattern=ORGAN), v: Viewer = Depends(operator_write),
              g: Gateway = Depends(gw)) -> dict:
    user, password = g.platform.create_admin(organ_id, body.full_name, body.unit, v.user)
    return {"username": user.username, "password": password, "full_name": user.full_name}


class HubOperatorRequest(BaseModel):
    username: str = Field(pattern=r"^[a-z0-9.]{1,64}$", description="A person of the agency")


def _user_id(username: str, g: Gateway) -> str:
    user = g.accounts.by_username(username)
    if user is None:
        raise NotFound("Không tìm thấy tài khoản.", username=username)
    return user.id


@router.get("/agencies/{organ_id}/hub-operators", response_model=list[Account], responses=NOT_FOUND,
            summary="Người vận hành trục liên thông của cơ quan")
def hub_operators(organ_id: str = Path(pattern=ORGAN), _v: Viewer = Depends(operator),
                  g: Gateway = Depends(gw)) -> list[dict]:
    g.platform.get(organ_id)
    return [_account(u) for u in g.platform.hub_operators(organ_id)]


@router.post("/agencies/{organ_id}/hub-operators", response_model=Account, responses=NOT_FOUND,
             summary="Giao vai trò Vận hành trục liên thông (hub_operator) cho một người của cơ quan")
def grant_hub_operator(body: HubOperatorRequest, organ_id: str = Path(pattern=ORGAN),
                       v: Viewer = Depends(operator_write), g: Gateway = Depends(gw)) -> dict:
    return _account(g.platform.set_hub_operator(organ_id, _user_id(body.username, g), True, v.user))


@router.delete("/agencies/{organ_id}/hub-operators/{username}", response_model=Account, responses=NOT_FOUND,
               summary="Thu hồi vai trò Vận hành trục liên thông")
def remove_hub_operator(organ_id: str = Path(pattern=ORGAN), username: str = Path(pattern=r"^[a-z0-9.]{1,64}$"),
                        v: Viewer = Depends(operator_write), g: Gateway = Depends(gw)) -> dict:
    return _account(g.platform.set_hub_operator(organ_id, _user_id(username, g), False, v.user))


@router.get("/accounts", response_model=list[Account], summary="Tìm tài khoản ở mọi cơ quan")
def find_accounts(q: str = Query(min_length=2, max_length=100), _v: Viewer = Depends(operator),
                  g: Gateway = Depends(gw)) -> list[dict]:
    return [_account(u) for u in g.accounts.find_users(q)]


def _lock(username: str, locked: bool, v: Viewer, g: Gateway) -> dict:
    user = g.accounts.by_username(username)
    if user is None:
        raise NotFound("Không tìm thấy tài khoản.", username=username)
    if user.id == v.user.id:
        raise ValidationFailed("Không thể tự khóa tài khoản của chính mình.", field="username")
    g.accounts.set_disabled(user.id, locked)
    g.accounts.record_admin_event(v.user, user.id, "lock" if locked else "unlock", agency_id=user.agency_id,
                                  by_province=True, by_name=v.user.full_name, organ_id=user.agency_id)
    return _account(g.accounts.get(user.id))


@router.post("/accounts/{username}/lock", response_model=Account, responses=NOT_FOUND,
             summary="Khóa tài khoản (người nghỉ việc, chuyển công tác) ở bất kỳ cơ quan nào")
def lock_account(username: str = Path(pattern=r"^[a-z0-9.]{1,64}$"), v: Viewer = Depends(operator_write),
                 g: Gateway = Depends(gw)) -> dict:
    return _lock(username, True, v, g)


@router.post("/accounts/{username}/unlock", response_model=Account, responses=NOT_FOUND,
             summary="Mở khóa tài khoản")
def unlock_account(username: str = Path(pattern=r"^[a-z0-9.]{1,64}$"), v: Viewer = Depends(operator_write),
                   g: Gateway = Depends(gw)) -> dict:
    return _lock(username, False, v, g)


@router.get("/maintenance", response_model=list[Notice], summary="Thông báo bảo trì đang có hiệu lực (mọi người)")
def current_notices(_v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> list[dict]:
    return g.notices.current()


@router.post("/maintenance", response_model=Notice, status_code=201, summary="Đăng thông báo bảo trì")
def publish_notice(body: NoticeRequest, v: Viewer = Depends(operator_write), g: Gateway = Depends(gw)) -> dict:
    return g.notices.publish(body.starts_at, body.ends_at, body.message, v.user.full_name)


@router.post("/maintenance/{notice_id}/withdraw", response_model=Notice, responses=NOT_FOUND,
             summary="Thu hồi thông báo bảo trì")
def withdraw_notice(notice_id: int = Path(ge=1, le=2**31 - 1), _v: Viewer = Depends(operator_write),
                    g: Gateway = Depends(gw)) -> dict:
    return g.notices.withdraw(notice_id)


@router.get("/problems", response_model=list[ProblemItem],
            summary="Báo lỗi của mọi cơ quan: hạn 03 ngày làm việc, đánh dấu quá hạn")
def problems(state: str = Query("", pattern="^(|open|overdue|done|not_done)$"),
             agency_id: str = Query("", max_length=32), _v: Viewer = Depends(operator),
             g: Gateway = Depends(gw)) -> list[dict]:
    return problem_queue(g.db, names(g), state=state, agency_id=agency_id)


@router.get("/usage", response_model=list[Usage], summary="Tình hình sử dụng theo cơ quan")
def usage_per_agency(date_from: str = Query("", max_length=10), date_to: str = Query("", max_length=10),
                     _v: Viewer = Depends(operator), g: Gateway = Depends(gw)) -> list[dict]:
    from gateway.province import _period

    start, end = _period(date_from, date_to, ("date_from", "date_to"))
    return usage(g.backends, g.db, g.platform.agencies(), start, end)


@router.get("/operations-report", summary="Báo cáo tình hình hoạt động 06 tháng (PDF hoặc XLSX)",
            responses={200: {"content": {"application/pdf": {}, "application/vnd.openxmlformats-officedocument."
                                                                "spreadsheetml.sheet": {}}}})
def operations_report(year: int = Query(0, ge=0, le=2100), half: int = Query(0, ge=0, le=2),
                      format: str = Query("pdf", pattern="^(pdf|xlsx)$"), _v: Viewer = Depends(operator),
                      g: Gateway = Depends(gw)) -> Response:
    default_year, _half = current_half()
    data, filename, media = operations_file(g, year or default_year, half, format)
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def install(app: FastAPI) -> None:
    app.include_router(router)
    if app.openapi_tags is not None and not any(t["name"] == TAG for t in app.openapi_tags):
        app.openapi_tags = [*app.openapi_tags, {"name": TAG, "description": "The province operator (Sở TTTT): "
                                                "hosted agencies, onboarding, maintenance, problems, usage"}]
