"""REST API of the caller's own account, as on the account screens (/tai-khoan, /doi-mat-khau): change one's
password under the same policy (gateway/accounts.py `check_password`, through `Accounts.change_password`, the
function the form calls), list and revoke one's own API tokens (`Accounts.list_api_tokens`, `revoke_api_token`).

Nobody else sees or revokes a person's tokens here; the agency's administrator does, on the person's admin page and
at /users/{id}/tokens (gateway/api_admin.py), or ends all of them by locking the account (POST /users/{id}/lock).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Response, Security
from pydantic import BaseModel, ConfigDict, Field

from gateway.accounts import PASSWORD_RULE_VI
from gateway.api import COMMON_ERRORS, NOT_FOUND, _problem, bearer
from gateway.api_handling import operation_name
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.auth import TOKEN_ID_LENGTH
from gateway.idempotency import KEY, once
from services.common.clock import to_vn

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name)
TAG = "Tài khoản"
TokenId = Path(pattern=rf"^[0-9a-f]{{{TOKEN_ID_LENGTH}}}$", description="Mã công khai của mã truy cập (GET /tokens)",
               examples=["3f9c0a1b2c3d4e5f"])


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=200, description="Mật khẩu hiện tại")
    new_password: str = Field(
        min_length=1, max_length=200,
        description=f"Mật khẩu mới: {PASSWORD_RULE_VI}")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"current_password": "Mật-khẩu-cũ-2026", "new_password": "Hà-Nội-mùa-thu-2026!"}]})


class PasswordChanged(BaseModel):
    changed: bool = True


class TokenInfo(BaseModel):
    id: str = Field(description="Mã công khai (16 chữ số hex đầu của SHA-256), không phải mã bí mật")
    label: str
    created_at: datetime | None = None
    last_used_at: datetime | None = Field(None, description="Lần dùng gần nhất (chính xác đến khoảng 5 phút)")
    revoked: bool


class TokenRevoked(BaseModel):
    id: str
    label: str
    revoked: bool


@router.post("/me/password", response_model=PasswordChanged, tags=[TAG], summary="Đổi mật khẩu của tôi",
             responses={422: _problem("Mật khẩu hiện tại không đúng, mật khẩu mới không đủ mạnh hoặc trùng mật khẩu "
                                      "cũ, hoặc tài khoản thư mục (LDAP): đổi trên hệ thống thư mục")},
             description="Cùng quy định như màn hình Đổi mật khẩu. Không nhận Idempotency-Key: dấu vân tay của yêu "
                         "cầu sẽ được tính từ mật khẩu; gửi lại khi đã đổi thì mật khẩu hiện tại không còn đúng (422).")
def change_password(body: PasswordChange, v: Viewer = Depends(csrf_checked),
                    g: Gateway = Depends(gw)) -> dict[str, Any]:
    g.accounts.change_password(v.user.id, body.current_password, body.new_password)
    return {"changed": True}


@router.get("/tokens", response_model=list[TokenInfo], tags=[TAG], summary="Các mã truy cập của tôi",
            description="Mới nhất trước (giờ Việt Nam); mã bí mật không bao giờ hiện lại. Chỉ mã của chính người "
                        "gọi.")
def token_list(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return [{**t, "created_at": t["created_at"] and to_vn(t["created_at"]),
             "last_used_at": t["last_used_at"] and to_vn(t["last_used_at"])}
            for t in g.accounts.list_api_tokens(v.user.id)]


@router.post("/tokens/{token_id}/revoke", response_model=TokenRevoked, responses=NOT_FOUND, tags=[TAG],
             summary="Thu hồi một mã truy cập của tôi",
             description="Từ đó mã bị từ chối (401). Gọi lại: không đổi gì. Mã của người khác: 404.")
def token_revoke(response: Response, token_id: str = TokenId, key: str | None = KEY,
                 v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"token_revoke:{token_id}", None,
                lambda: g.accounts.revoke_api_token(v.user.id, token_id))
