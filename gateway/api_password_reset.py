"""REST API of "Quên mật khẩu" (gateway/password_reset.py), for the mobile apps: ask for a reset link by account
name, then set the new password with the link's secret. For people who are signed out: no bearer token, no session
(an Authorization header is ignored). The answers are the screens' (gateway/password_reset_pages.py)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.accounts import PASSWORD_RULE_VI
from gateway.api import _problem
from gateway.api_handling import operation_name
from gateway.app import Gateway, gw
from gateway.password_reset import NEUTRAL_VI
from gateway.password_reset_pages import ask, client_address

router = APIRouter(prefix="/api/v1", generate_unique_id_function=operation_name,
                   responses={422: _problem("Tham số không hợp lệ")})
TAG = "Tài khoản"


class ResetRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64, description="Tên đăng nhập")

    model_config = ConfigDict(json_schema_extra={"examples": [{"username": "hoalt.vptq"}]})


class ResetAsked(BaseModel):
    message: str = Field(description="Thông báo để hiện cho người dùng, như nhau dù tài khoản có tồn tại hay không")


class ResetConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="Mã bí mật của liên kết trong thư (tham số `ma`)")
    new_password: str = Field(min_length=1, max_length=200, description=f"Mật khẩu mới: {PASSWORD_RULE_VI}")


@router.post("/password-reset", status_code=202, response_model=ResetAsked, tags=[TAG],
             summary="Quên mật khẩu: yêu cầu liên kết đặt lại",
             description="Không cần mã truy cập. Luôn trả 202 với cùng một thông báo, dù tài khoản có tồn tại, bị "
                         "khóa, là tài khoản thư mục (LDAP), không có địa chỉ thư điện tử hay đã yêu cầu quá 3 lần "
                         "trong 15 phút; chỉ tài khoản được phép mới nhận thư có liên kết dùng một lần, hiệu lực 30 "
                         "phút. Yêu cầu mới làm các liên kết cũ hết hiệu lực.")
def password_reset(body: ResetRequest, request: Request, background: BackgroundTasks,
                   g: Gateway = Depends(gw)) -> dict[str, str]:
    ask(g, request, body.username, background)
    return {"message": NEUTRAL_VI}


@router.post("/password-reset/confirm", status_code=204, response_class=Response, tags=[TAG],
             summary="Quên mật khẩu: đặt mật khẩu mới bằng liên kết",
             responses={400: _problem("Liên kết không hợp lệ, đã dùng, hết hạn, hoặc không còn hiệu lực vì đã có "
                                      "liên kết mới hơn, mật khẩu đã được đổi cách khác hay địa chỉ thư điện tử đã "
                                      "thay đổi (`reset_link_invalid`, `reason`: unknown, used, replaced, expired, "
                                      "account)"),
                        422: _problem("Mật khẩu mới không đạt quy định hoặc trùng mật khẩu cũ (liên kết vẫn dùng "
                                      "được)")},
             description="Không cần mã truy cập. Thành công: mật khẩu được đặt, liên kết hết hiệu lực, mọi phiên "
                         "đăng nhập của tài khoản kết thúc, việc đặt lại được ghi vào nhật ký quản trị và một thư "
                         "báo “mật khẩu đã được đổi” được gửi.")
def password_reset_confirm(body: ResetConfirm, request: Request, background: BackgroundTasks,
                           g: Gateway = Depends(gw)) -> Response:
    mail = g.password_resets.confirm(body.token, body.new_password, client_address(request))
    background.add_task(g.password_resets.deliver, mail)
    return Response(status_code=204)
