"""REST API of the administrator's screens (/quan-tri): the agency's accounts (create, change, roles, lock and
unlock, reset the password, see and revoke their API tokens), its units, its registers (close, rename, reopen) and
its configuration (working calendar, deadlines, review chains, signing delegation, the sending policy). Each route
calls the function its form calls (gateway/people.py, or the registry for registers), so the rules, the admin
events and the push to routing are the same; the administrator's own agency only (another agency's account or
register is 404, like a missing one). The agency's rules are at /agency-rules (gateway/rules.py).

Routes whose answer carries a temporary password (create, reset) take no Idempotency-Key: the gateway would keep
that answer for a day. Creating again the same person answers 409 `username_taken` with a free name instead.
"""

from __future__ import annotations

from datetime import datetime
from types import EllipsisType
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, Security
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway import people, rules
from gateway.accounts import AGENCY_ROLES
from gateway.admin import admin_post, admin_viewer, parse_days, parse_periods, register_post
from gateway.api import COMMON_ERRORS, DOC_ID, NOT_FOUND, RegisterReopening, _problem, bearer
from gateway.api_accounts import TokenInfo, TokenRevoked
from gateway.api_handling import STEP_ERRORS, operation_name
from gateway.app import Gateway, Viewer, gw
from gateway.auth import TOKEN_ID_LENGTH
from gateway.idempotency import KEY, once, service_key
from gateway.models import User
from services.common.clock import to_vn
from services.common.errors import Conflict

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name, tags=["Quản trị"])
UserId = Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Mã người dùng trong cơ quan (GET /users)")
AdminTokenId = Path(pattern=rf"^[0-9a-f]{{{TOKEN_ID_LENGTH}}}$",
                    description="Mã công khai của mã truy cập (GET /users/{user_id}/tokens)",
                    examples=["3f9c0a1b2c3d4e5f"])
UnitCode = Path(pattern=r"^[a-z0-9]{1,32}$", description="Mã đơn vị: chữ thường không dấu và chữ số (ví dụ vptq)")
# PostgreSQL refuses NUL in text: such a value is refused as invalid rather than reaching the database.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
ROLES_TEXT = ("Vai trò: " + ", ".join(f"`{r}`" for r in AGENCY_ROLES) + ". `hub_operator` do vận hành nền tảng cấp "
              "(`POST /api/v1/agencies/{organ_id}/hub-operators`): thêm vào thì `403`; người đang có vẫn giữ khi sửa")
CREATE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: _problem("Tên tài khoản đã có người dùng (code `username_taken`; `errors.value`: tên đề xuất)"),
    422: _problem("Dữ liệu không hợp lệ (vai trò, họ tên, đơn vị)"),
}


class Account(BaseModel):
    user_id: str
    username: str
    full_name: str
    unit: str | None = None
    position: str = ""
    email: str = ""
    roles: list[str]
    locked: bool = Field(description="Quản trị đã khóa (người nghỉ việc, chuyển công tác); không bao giờ xóa")
    must_change_password: bool = Field(description="Phải đổi mật khẩu tạm ở lần đăng nhập tới")
    sign_in: str = Field(description="local | directory (tài khoản thư mục LDAP)")
    deleted: bool = Field(False, description="Đã xóa theo quy định của cơ quan về tài khoản người nghỉ việc")
    created_at: datetime | None = None


class AccountIssued(BaseModel):
    account: Account
    password: str = Field(description="Mật khẩu tạm, chỉ hiện một lần; người dùng phải đổi khi đăng nhập")
    warning: str | None = Field(None, description="Chưa đồng bộ được sang dịch vụ điều hành: gửi lại sau ít phút")


class AccountChanged(BaseModel):
    account: Account
    warning: str | None = Field(None, description="Chưa đồng bộ được sang dịch vụ điều hành")
    open_work_total: int = Field(0, description="Khi khóa: số việc còn đứng tên người này, cần bàn giao "
                                                "(POST /users/{user_id}/handover)")


class NewAccount(BaseModel):
    full_name: Text = Field(min_length=1, max_length=100, description="Họ và tên")
    unit: Text = Field(min_length=1, max_length=32, description="Mã đơn vị (GET /units)")
    position: Text = Field("", max_length=100, description="Chức vụ")
    email: Text = Field("", max_length=100)
    roles: list[Annotated[str, StringConstraints(max_length=40)]] = Field(max_length=10, description=ROLES_TEXT)
    username: Text = Field("", max_length=64, description="Tên tài khoản; để trống: theo quy tắc đặt tên "
                                                          "(tên + chữ đầu họ, tên đệm + . + mã đơn vị)")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"full_name": "Trần Văn Bình", "unit": "thtq", "position": "Chuyên viên", "email": "",
         "roles": ["specialist"], "username": ""}]})


class AccountChange(BaseModel):
    full_name: Text = Field(min_length=1, max_length=100)
    unit: Text = Field("", max_length=32, description="Mã đơn vị; để trống: không thuộc đơn vị nào")
    position: Text = Field("", max_length=100)
    email: Text = Field("", max_length=100)
    roles: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        max_length=10, description=ROLES_TEXT + ". Vai trò mới có hiệu lực ngay: các phiên đăng nhập cũ kết thúc")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"full_name": "Trần Văn Bình", "unit": "thtq", "position": "Phó trưởng phòng", "email": "",
         "roles": ["specialist", "department_head"]}]})


class Synced(BaseModel):
    accounts: int = Field(description="Số tài khoản đã gửi sang dịch vụ điều hành")
    warning: str | None = Field(None, description="Chưa đồng bộ được: gửi lại sau ít phút")


class RegisterState(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    direction: str = Field(description="incoming | outgoing | copies")
    year: int
    name: str
    next_number: int = Field(description="Số sẽ cấp tiếp theo")
    closed: bool
    closed_at: str | None = Field(None, description="Lúc khóa sổ")
    reopenings: list[RegisterReopening] = Field([], description="Các lần sổ đã khóa rồi được mở lại (cũ trước)")


class RegisterChange(BaseModel):
    name: Text = Field(min_length=1, max_length=200, description="Tên sổ mới; không trùng tên sổ khác cùng loại, "
                       "cùng năm", examples=["Sổ văn bản đến năm 2026 (bản giấy và điện tử)"])


class RegisterReopen(BaseModel):
    reason: Text = Field(min_length=1, max_length=1000, description="Lý do mở lại sổ (bắt buộc)",
                         examples=["Khóa nhầm sổ đang dùng"])


class UnitInfo(BaseModel):
    code: str
    name: str
    abbreviation: str | None = Field(None, description="Chữ viết tắt trong ký hiệu văn bản; null: mã đơn vị viết hoa")
    declared: bool = Field(description="false: đơn vị có người nhưng chưa được khai báo tên")
    parent_code: str | None = Field(None, description="Đơn vị cấp trên cùng cơ quan; null: trực thuộc cơ quan")
    depth: int = Field(1, description="Cấp trong cây đơn vị: 1 trực thuộc cơ quan (danh sách theo thứ tự cây)")
    active: bool = Field(True, description="false: đơn vị đã ngừng hoạt động (sáp nhập, giải thể): giữ tên trong lịch "
                         "sử, không nhận việc mới (POST /units/{code}/retire, /reactivate)")


class UnitName(BaseModel):
    name: Text = Field(min_length=1, max_length=200, description="Tên đơn vị", examples=["Phòng Tổng hợp"])
    abbreviation: str | None = Field(None, max_length=10, description="Chữ viết tắt trong ký hiệu văn bản (12/UBND-VX"
                                     "): chữ in hoa và chữ số; bỏ trống: mã đơn vị viết hoa", examples=["VX"])
    parent_code: str | None = Field(None, pattern=r"^[a-z0-9]{0,32}$", description=(
        "Đơn vị cấp trên cùng cơ quan (Bình Định QĐ 376 Đ4.1 Bước 3); null hoặc rỗng: trực thuộc cơ quan; không gửi: "
        "giữ nguyên. Từ chối (422) đơn vị của cơ quan khác (`unknown_parent`), vòng lặp (`unit_cycle`), cây sâu "
        "quá 4 cấp (`unit_too_deep`)."), examples=["tccb"])

    def parent(self) -> str | EllipsisType | None:
        """The parent to save: `...` (unchanged) when the field was not sent."""
        return (self.parent_code or None) if "parent_code" in self.model_fields_set else ...


class NewUnit(UnitName):
    code: str = Field(pattern=r"^[a-z0-9]{1,32}$", description="Mã đơn vị: chữ thường không dấu và chữ số, là phần "
                      "sau dấu chấm của tên tài khoản", examples=["ccvt"])


class Calendar(BaseModel):
    periods: list[Annotated[str, StringConstraints(max_length=20)]] = Field(
        min_length=1, max_length=6, description="Giờ làm việc, HH:MM-HH:MM", examples=[["07:30-11:30", "13:30-17:00"]])
    extra_days_off: list[Annotated[str, StringConstraints(max_length=10)]] = Field(
        [], max_length=366, description="Ngày nghỉ thêm, YYYY-MM-DD")
    make_up_days: list[Annotated[str, StringConstraints(max_length=10)]] = Field(
        [], max_length=366, description="Ngày làm bù, YYYY-MM-DD")
    public_holidays: bool = Field(True, description="Tính các ngày lễ, Tết theo Bộ luật Lao động")


class ConfigChange(BaseModel):
    """Only the fields sent are changed; `calendar` is replaced as a whole."""

    agency_name: Text | None = Field(None, max_length=200)
    default_deadline_days: int | None = Field(None, ge=1, le=365, description="Hạn xử lý mặc định (ngày làm việc)")
    due_soon_hours: int | None = Field(None, ge=1, le=24 * 30, description="Báo sắp đến hạn trước (giờ)")
    calendar: Calendar | None = None
    review_chain: list[dict[str, Any]] | None = Field(None, max_length=20, description="Quy trình trình duyệt "
                                                      "chung: các bước (như trong GET /agency-config)")
    review_chains: dict[str, list[dict[str, Any]]] | None = Field(
        None, max_length=50, description="Quy trình theo loại văn bản {mã loại: [các bước]}; {}: bỏ hết")
    signing_delegation: bool | None = Field(None, description="Cho phép lãnh đạo ủy quyền duyệt, ký văn bản")
    allow_unsigned_send: bool | None = Field(None, description="Cho gửi văn bản chưa có chữ ký số hợp lệ "
                                                               "(được đánh dấu như vậy)")

    model_config = ConfigDict(json_schema_extra={"examples": [{"default_deadline_days": 10, "due_soon_hours": 24}]})


class AgencyConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    agency_id: str
    agency_name: str | None = None
    calendar: dict[str, Any] = Field(description="periods, extra_days_off, make_up_days, public_holidays")
    default_deadline_days: int | None = None
    due_soon_hours: int | None = None
    review_chain: list[dict[str, Any]] = []
    review_chains: dict[str, Any] = {}
    signing_delegation: bool = True
    allow_unsigned_send: bool = False


def _account(g: Gateway, user: User, deleted: set[str] | None = None) -> dict[str, Any]:
    if deleted is None:
        deleted = rules.deleted_ids(g, user.agency_id)
    return {"user_id": user.id, "username": user.username, "full_name": user.full_name, "unit": user.unit,
            "position": user.position or "", "email": user.email or "", "roles": list(user.roles or []),
            "locked": bool(user.disabled), "must_change_password": bool(user.must_change_password),
            "sign_in": "directory" if g.accounts.is_directory_account(user.id) else "local",
            "deleted": user.id in deleted,
            "created_at": to_vn(user.created_at) if user.created_at else None}


# -- accounts ----------------------------------------------------------------------------------------------------------

@router.get("/users", response_model=list[Account], summary="Tài khoản của cơ quan",
            description="Quản trị. Theo tên tài khoản.")
def user_list(v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    rules.delete_due_leavers(g, v)  # as the screen: where the agency deletes leavers' accounts (Đà Nẵng Đ13.5d)
    deleted = rules.deleted_ids(g, v.user.agency_id)
    return [_account(g, u, deleted) for u in g.accounts.list_users(v.user.agency_id)]


@router.post("/users", response_model=AccountIssued, status_code=201, responses=CREATE_ERRORS,
             summary="Tạo tài khoản (mật khẩu tạm)", description="Quản trị. Người mới có ngay trong danh sách cán bộ "
                                                                  "của dịch vụ điều hành (phân công, thông báo).")
def user_create(body: NewAccount, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
    user, password, warning = people.create_account(g, v, body.full_name, body.unit, body.position, body.email,
                                                    list(body.roles), body.username)
    return {"account": _account(g, user), "password": password, "warning": warning}


@router.get("/users/{user_id}", response_model=Account, responses=NOT_FOUND, summary="Một tài khoản")
def user_detail(user_id: str = UserId, v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _account(g, g.accounts.user_in_agency(v.user.agency_id, user_id))


@router.put("/users/{user_id}", response_model=AccountChanged, responses=STEP_ERRORS,
            summary="Sửa tài khoản: họ tên, đơn vị, chức vụ, vai trò",
            description="Quản trị; không tự bỏ vai trò quản trị của mình (422).")
def user_update(body: AccountChange, response: Response, user_id: str = UserId, key: str | None = KEY,
                v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
    def act() -> dict[str, Any]:
        user, warning = people.update_account(g, v, user_id, body.full_name, body.unit, body.position,
                                              list(body.roles), body.email)
        return {"account": _account(g, user), "warning": warning}

    return once(g, v, key, response, f"user_update:{user_id}", body, act)


def _locked(g: Gateway, v: Viewer, user_id: str, locked: bool) -> dict[str, Any]:
    user, warning, still_open = people.set_locked(g, v, user_id, locked)
    return {"account": _account(g, user), "warning": warning, "open_work_total": still_open}


@router.post("/users/{user_id}/lock", response_model=AccountChanged, responses=STEP_ERRORS,
             summary="Khóa tài khoản", description="Quản trị. Các phiên đăng nhập và mã truy cập của người này "
                                                    "ngừng ngay; tài khoản được giữ, không xóa. Không tự khóa mình.")
def user_lock(response: Response, user_id: str = UserId, key: str | None = KEY, v: Viewer = Depends(admin_post),
              g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"user_lock:{user_id}", None, lambda: _locked(g, v, user_id, True))


@router.post("/users/{user_id}/unlock", response_model=AccountChanged, responses=STEP_ERRORS,
             summary="Mở khóa tài khoản", description="Quản trị; tài khoản đã xóa theo quy định thì không mở lại.")
def user_unlock(response: Response, user_id: str = UserId, key: str | None = KEY, v: Viewer = Depends(admin_post),
                g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"user_unlock:{user_id}", None, lambda: _locked(g, v, user_id, False))


@router.post("/users/{user_id}/password-reset", response_model=AccountIssued, responses=STEP_ERRORS,
             summary="Đặt lại mật khẩu (mật khẩu tạm)",
             description="Quản trị. Các phiên đăng nhập và mã truy cập API của người này kết thúc, hết tạm khóa do "
                         "nhập sai; tài khoản thư mục "
                         "(LDAP) đổi mật khẩu trên hệ thống thư mục (422).")
def user_password_reset(user_id: str = UserId, v: Viewer = Depends(admin_post),
                        g: Gateway = Depends(gw)) -> dict[str, Any]:
    user, password = people.reset_password(g, v, user_id)
    return {"account": _account(g, user), "password": password, "warning": None}


@router.get("/users/{user_id}/tokens", response_model=list[TokenInfo], responses=NOT_FOUND,
            summary="Mã truy cập API của một tài khoản",
            description="Quản trị. Mới nhất trước (giờ Việt Nam); chỉ thông tin của mã, không bao giờ có mã bí mật.")
def user_tokens(user_id: str = UserId, v: Viewer = Depends(admin_viewer),
                g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return [{**t, "created_at": t["created_at"] and to_vn(t["created_at"]),
             "last_used_at": t["last_used_at"] and to_vn(t["last_used_at"])}
            for t in people.api_tokens(g, v, user_id)]


@router.post("/users/{user_id}/tokens/{token_id}/revoke", response_model=TokenRevoked, responses=NOT_FOUND,
             summary="Thu hồi một mã truy cập API của tài khoản",
             description="Quản trị. Từ đó mã bị từ chối (401) ngay; tài khoản vẫn hoạt động. Ghi vào lịch sử quản "
                         "trị của tài khoản. Gọi lại: không đổi gì. Mã của tài khoản khác, tài khoản của cơ quan "
                         "khác: 404.")
def user_token_revoke(response: Response, user_id: str = UserId, token_id: str = AdminTokenId, key: str | None = KEY,
                      v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"user_token_revoke:{user_id}:{token_id}", None,
                lambda: people.revoke_api_token(g, v, user_id, token_id))


@router.post("/users/sync", response_model=Synced, summary="Đồng bộ lại mọi tài khoản, đơn vị sang dịch vụ điều hành",
             description="Quản trị. Mỗi thay đổi qua màn hình hay API đã tự đồng bộ; dùng khi có cảnh báo chưa đồng "
                         "bộ được, hoặc cho tài khoản có từ trước.")
def user_sync(v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
    warning = people.sync_all(g, v)
    return {"accounts": len(g.accounts.list_users(v.user.agency_id)), "warning": warning}


RegisterId = Path(pattern=DOC_ID, description="Mã sổ (GET /registers)")


@router.post("/registers/{register_id}/close", response_model=RegisterState, responses=STEP_ERRORS,
             summary="Khóa sổ văn bản", description="Quản trị (văn thư khi quy định của cơ quan cho phép mở sổ). Sổ "
                                                     "đã khóa không cấp thêm số; khóa lại: không đổi gì.")
def register_close(response: Response, register_id: str = RegisterId, key: str | None = KEY,
                   v: Viewer = Depends(register_post), g: Gateway = Depends(gw)) -> dict:
    # The registry checks the role and the agency again and refuses numbering into the register from now on.
    return once(g, v, key, response, f"register_close:{register_id}", None,
                lambda: g.backends.call(v.actor, "registry", "close_register", register_id,
                                        service_key(v, key)))


@router.patch("/registers/{register_id}", response_model=RegisterState, responses=STEP_ERRORS,
              summary="Sửa sổ văn bản (tên sổ)",
              description="Quản trị (văn thư khi quy định của cơ quan cho phép mở sổ). Chỉ sửa được tên của sổ đang mở "
                          "(sổ đã khóa: 409 `register_closed`); loại sổ, năm và các số đã cấp không đổi. Tên trùng sổ "
                          "khác cùng loại, cùng năm: 409 `register_name_taken`. Gửi lại cùng tên: không đổi gì.")
def register_update(body: RegisterChange, response: Response, register_id: str = RegisterId, key: str | None = KEY,
                    v: Viewer = Depends(register_post), g: Gateway = Depends(gw)) -> dict:
    return once(g, v, key, response, f"register_update:{register_id}", body,
                lambda: g.backends.call(v.actor, "registry", "update_register", register_id, body.name))


@router.post("/registers/{register_id}/reopen", response_model=RegisterState, responses=STEP_ERRORS,
             summary="Mở lại sổ văn bản đã khóa",
             description="Quản trị (văn thư khi quy định của cơ quan cho phép mở sổ), kèm lý do. Chỉ trong năm của sổ "
                         "(giờ Việt Nam; sổ năm trước: 409 `register_year`). Số tiếp theo nối tiếp số cuối cùng đã "
                         "cấp. Sổ đang mở: không đổi gì. Lần khóa và lần mở lại được giữ trong `reopenings`.")
def register_reopen(body: RegisterReopen, response: Response, register_id: str = RegisterId, key: str | None = KEY,
                    v: Viewer = Depends(register_post), g: Gateway = Depends(gw)) -> dict:
    # With a key, the registry knows this reopening: sent again after the register was closed anew, it does nothing.
    return once(g, v, key, response, f"register_reopen:{register_id}", body,
                lambda: g.backends.call(v.actor, "registry", "reopen_register", register_id, body.reason,
                                        service_key(v, key)))


# -- units -------------------------------------------------------------------------------------------------------------

@router.get("/units", response_model=list[UnitInfo], summary="Đơn vị của cơ quan", description="Quản trị.")
def unit_list(v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return people.units(g, v.user.agency_id)


class UnitChange(BaseModel):
    at: str = Field(description="Giờ Việt Nam")
    admin: str = Field(description="Quản trị đã thay đổi")
    code: str
    changes: dict[str, list[Any]] = Field(description="Mỗi trường đã đổi: [trước, sau] (name, abbreviation, "
                                                      "parent_code)")


@router.get("/units/changes", response_model=list[UnitChange], summary="Lịch sử thay đổi đơn vị",
            description="Quản trị: thêm, đổi tên, đổi chữ viết tắt, chuyển đơn vị cấp trên; mới nhất trước.")
def unit_history(v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return people.unit_changes(g, v)


@router.put("/units/{code}", response_model=UnitInfo, responses=STEP_ERRORS, summary="Khai báo hoặc đổi tên đơn vị",
            description="Quản trị. Mã đơn vị không đổi được (là một phần của tên tài khoản); `parent_code` đặt đơn "
                        "vị dưới một đơn vị khác của cơ quan.")
def unit_save(body: UnitName, response: Response, code: str = UnitCode, key: str | None = KEY,
              v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"unit_save:{code}", body, lambda: _saved_unit(g, v, code, body))


@router.post("/units", response_model=UnitInfo, status_code=201, responses={**STEP_ERRORS, 409: _problem(
             "Mã đơn vị đã có (code `unit_exists`): đổi bằng PUT /units/{code}")}, summary="Thêm đơn vị",
             description="Quản trị. Một đơn vị mới, trực thuộc cơ quan hoặc dưới đơn vị `parent_code`.")
def unit_create(body: NewUnit, response: Response, key: str | None = KEY, v: Viewer = Depends(admin_post),
                g: Gateway = Depends(gw)) -> dict[str, Any]:
    def act() -> dict[str, Any]:
        if any(u.code == body.code for u in g.accounts.list_units(v.user.agency_id)):
            raise Conflict("Mã đơn vị này đã có trong cơ quan; sửa đơn vị bằng PUT /units/{code}.", code="unit_exists",
                           field="code", value=body.code)
        return _saved_unit(g, v, body.code, body)

    return once(g, v, key, response, "unit_create", body, act)


@router.post("/units/{code}/retire", response_model=UnitInfo, responses={**STEP_ERRORS, 409: _problem(
             "Đơn vị còn người (`unit_has_people`), còn đơn vị trực thuộc đang hoạt động (`unit_has_subunits`) hoặc "
             "còn văn bản đến đang giao xử lý (`unit_has_open_work`): làm các việc được nêu trước")},
             summary="Cho đơn vị ngừng hoạt động",
             description="Quản trị. Đơn vị bị sáp nhập hoặc giải thể: giữ tên và lịch sử (văn bản đã gửi, sổ, báo cáo "
                         "kỳ trước), không còn được chọn cho việc mới (nơi nhận nội bộ, giao xử lý, đơn vị của tài "
                         "khoản, đơn vị cấp trên): gửi vẫn bị từ chối 422 `unit_retired`. Đơn vị đã ngừng hoạt động: "
                         "không đổi gì. Đơn vị của cơ quan khác: 404.")
def unit_retire(response: Response, code: str = UnitCode, key: str | None = KEY, v: Viewer = Depends(admin_post),
                g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"unit_retire:{code}", None, lambda: _unit_active(g, v, code, False))


@router.post("/units/{code}/reactivate", response_model=UnitInfo, responses={**STEP_ERRORS, 409: _problem(
             "Đơn vị cấp trên đang ngừng hoạt động (`unit_parent_retired`)")}, summary="Cho đơn vị hoạt động lại",
             description="Quản trị. Đơn vị ngừng hoạt động nhầm được chọn lại như trước. Đơn vị đang hoạt động: không "
                         "đổi gì.")
def unit_reactivate(response: Response, code: str = UnitCode, key: str | None = KEY,
                    v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"unit_reactivate:{code}", None, lambda: _unit_active(g, v, code, True))


def _unit_active(g: Gateway, v: Viewer, code: str, active: bool) -> dict[str, Any]:
    unit = people.set_unit_active(g, v, code, active)
    return next(u for u in people.units(g, v.user.agency_id) if u["code"] == unit.code)


def _saved_unit(g: Gateway, v: Viewer, code: str, body: UnitName) -> dict[str, Any]:
    unit, _warning = people.save_unit(g, v, code, body.name, body.abbreviation, body.parent())
    return next(u for u in people.units(g, v.user.agency_id) if u["code"] == unit.code)


# -- configuration -----------------------------------------------------------------------------------------------------

@router.get("/agency-config", response_model=AgencyConfig, summary="Cấu hình của cơ quan",
            description="Quản trị: lịch làm việc, hạn xử lý, quy trình trình duyệt, ủy quyền ký, gửi văn bản chưa ký.")
def config_get(v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return people.current_config(g, v)


@router.patch("/agency-config", response_model=AgencyConfig, responses=STEP_ERRORS, summary="Sửa cấu hình",
              description="Quản trị. Chỉ các trường gửi lên được đổi; mọi giá trị được kiểm tra trước khi lưu (422).")
def config_change(body: ConfigChange, response: Response, key: str | None = KEY, v: Viewer = Depends(admin_post),
                  g: Gateway = Depends(gw)) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True)
    changes = {k: given[k] for k in ("agency_name", "default_deadline_days", "due_soon_hours", "review_chain",
                                     "review_chains", "signing_delegation") if given.get(k) is not None}
    if "agency_name" in changes:
        changes["agency_name"] = changes["agency_name"].strip()
    if body.calendar is not None:  # the same checks as the form's text boxes
        changes["calendar"] = {"periods": parse_periods(", ".join(body.calendar.periods)),
                               "extra_days_off": parse_days(", ".join(body.calendar.extra_days_off),
                                                            "extra_days_off"),
                               "make_up_days": parse_days(", ".join(body.calendar.make_up_days), "make_up_days"),
                               "public_holidays": body.calendar.public_holidays}

    def act() -> dict[str, Any]:
        people.configure(g, v, changes, body.allow_unsigned_send)
        return people.current_config(g, v)

    return once(g, v, key, response, "agency_config", body, act)
