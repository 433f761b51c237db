"""Every refusal in Vietnamese (issue 21 item 6), in-process: a page for the screens, problem+json under /api/v1,
never FastAPI's English JSON; the Content-Security-Policy and Secure cookies behind a trusted HTTPS proxy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.gateway.conftest import PASSWORD, csrf_of, login

TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "templates"
ENGLISH = ("Field required", "Not Found", "Method Not Allowed", "Input should be", "Internal Server Error",
           '"detail":[{', '"type":"missing"')


def signed_in(client: TestClient, username: str = "hoalt.vp") -> TestClient:
    assert login(client, username).status_code == 303
    return client


def assert_vietnamese_page(r, status: int, *phrases: str) -> None:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("text/html"), (r.headers["content-type"], r.text[:300])
    assert not [e for e in ENGLISH if e in r.text], r.text[:500]
    for phrase in phrases:
        assert phrase in r.text, (phrase, r.text[:800])


def assert_problem(r, status: int, code: str, *phrases: str) -> dict:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"] == "application/problem+json", r.headers["content-type"]
    body = r.json()
    assert body["status"] == status and body["code"] == code, body
    assert not [e for e in ENGLISH if e in r.text], body
    for phrase in phrases:
        assert phrase in body["detail"], (phrase, body)
    return body


# -- the screens ---------------------------------------------------------------------------------------------------

def test_a_missing_form_field_gets_a_vietnamese_page(client):
    r = client.post("/dang-nhap", data={"username": "hoalt.vp"})
    assert_vietnamese_page(r, 422, "Dữ liệu gửi lên không hợp lệ", "Thiếu trường bắt buộc “Mật khẩu”")


def test_a_form_field_that_is_not_a_number_gets_a_vietnamese_page(client):
    signed_in(client)
    page = client.get("/tai-khoan")
    r = client.post("/ho-so/danh-muc", data={"csrf_token": csrf_of(page.text), "year": "hai nghìn"})
    assert_vietnamese_page(r, 422, "“Năm” phải là một số")


def test_a_malformed_id_in_the_address_is_a_vietnamese_not_found_page(client):
    signed_in(client)
    r = client.get("/du-thao/khong-phai-so")
    assert_vietnamese_page(r, 404, "Không tìm thấy trang hoặc mục được yêu cầu")
    assert "Đăng xuất" in r.text  # inside the signed-in person's menu


def test_an_unknown_page_is_a_vietnamese_not_found_page(client):
    assert_vietnamese_page(client.get("/khong-co-trang-nay"), 404, "Không tìm thấy")
    assert_vietnamese_page(client.get("/static/khong-co.css"), 404, "Không tìm thấy")


def test_a_method_the_page_does_not_take_gets_a_vietnamese_page(client):
    r = client.get("/dang-xuat")
    assert_vietnamese_page(r, 405, "Địa chỉ này không nhận loại yêu cầu đã gửi")
    assert "POST" in r.headers["allow"]


def test_a_bad_filter_gets_a_vietnamese_page(client):
    signed_in(client)
    assert_vietnamese_page(client.get("/tra-cuu", params={"trang": "hai"}), 422, "“Trang” phải là một số")


def test_back_link_only_to_a_page_of_this_site(client):
    signed_in(client)
    r = client.get("/du-thao/x", headers={"referer": "http://127.0.0.1/tra-cuu?text=a"})
    assert 'href="/tra-cuu?text=a">Quay lại' in r.text
    r = client.get("/du-thao/x", headers={"referer": "https://ke-xau.example/"})
    assert "Quay lại" not in r.text and "ke-xau" not in r.text


def test_an_unexpected_failure_is_a_vietnamese_page_and_problem(gateway_app):
    @gateway_app.get("/hong")
    def broken():
        raise RuntimeError("defect")

    @gateway_app.get("/api/v1/hong")
    def broken_api():
        raise RuntimeError("defect")

    with TestClient(gateway_app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        assert_vietnamese_page(c.get("/hong"), 500, "lỗi hệ thống")
        assert_problem(c.get("/api/v1/hong"), 500, "internal_error", "lỗi hệ thống")


# -- the API -------------------------------------------------------------------------------------------------------

def test_api_bad_query_parameter_is_problem_json_in_vietnamese(client):
    signed_in(client)
    body = assert_problem(client.get("/api/v1/incoming", params={"page": "mot"}), 422, "validation_failed",
                          "“Trang” phải là một số")
    assert body["errors"] == [{"field": "page", "reason": "int_parsing", "message": "“Trang” phải là một số."}]
    assert_problem(client.get("/api/v1/incoming", params={"size": 1000}), 422, "validation_failed",
                   "“Số mục mỗi trang” không được quá 100")


def test_api_bad_id_is_problem_json_in_vietnamese(client):
    signed_in(client)
    assert_problem(client.get("/api/v1/incoming/co dau cach"), 422, "validation_failed", "“doc_id” không hợp lệ")


def test_api_bad_body_is_problem_json_in_vietnamese(client):
    signed_in(client)
    csrf = csrf_of(client.get("/tai-khoan").text)
    r = client.post("/api/v1/tokens", json={}, headers={"x-csrf-token": csrf})
    assert_problem(r, 422, "validation_failed", "Thiếu trường bắt buộc “Dùng cho”")
    r = client.post("/api/v1/tokens", content=b"{not json", headers={"x-csrf-token": csrf,
                                                                     "content-type": "application/json"})
    assert_problem(r, 422, "validation_failed")


def test_api_unknown_route_and_method_are_problem_json(client):
    assert_problem(client.get("/api/v1/khong-co"), 404, "http_404", "Không tìm thấy")
    signed_in(client)
    assert_problem(client.delete("/api/v1/me"), 405, "http_405", "không nhận loại yêu cầu")


# -- headers: CSP, cookies ---------------------------------------------------------------------------------------

def test_every_page_carries_a_content_security_policy_without_inline_script(client):
    for path in ("/dang-nhap", "/khong-co", "/api/v1/me"):
        policy = client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, policy
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_no_template_has_inline_script_handlers_or_styles():
    """The policy forbids them, so a template that uses one breaks in the browser: none may."""
    found = []
    for template in sorted(TEMPLATES.glob("*.html")):
        text = template.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"javascript:", r"<style"):
            found += [f"{template.name}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert not found, found


def test_api_documentation_allows_only_its_own_inline_scripts(client):
    r = client.get("/api/docs")
    assert r.status_code == 200
    policy = r.headers["content-security-policy"]
    assert "'sha256-" in policy and "script-src 'self' https://cdn.jsdelivr.net 'sha256-" in policy
    assert "'unsafe-inline'" not in policy.split("style-src")[0]


def _login_cookie(client: TestClient, headers: dict[str, str] | None = None) -> str:
    r = client.post("/dang-nhap", data={"username": "hoalt.vp", "password": PASSWORD, "next": "/"},
                    headers=headers or {}, follow_redirects=False)
    assert r.status_code == 303
    return r.headers["set-cookie"]


@pytest.fixture
def behind_proxy(tmp_path):
    """The gateway with the TestClient's address ("testclient") as its trusted reverse proxy."""
    app = create_app(GatewaySettings(data_dir=tmp_path, agencies_file=None, trusted_proxies="10.0.0.1, testclient"))
    app.state.gateway.accounts.create_user(username="hoalt.vp", full_name="Lê Thị Hoa", agency_id="000.00.00.H60",
                                           roles=["clerk"], password=PASSWORD, must_change_password=False)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def test_session_cookie_is_secure_when_a_trusted_proxy_says_https(behind_proxy):
    cookie = _login_cookie(behind_proxy, {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7"})
    assert "; secure" in cookie.lower() and "httponly" in cookie.lower()
    page = behind_proxy.get("/", headers={"x-forwarded-proto": "https"})
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert "; secure" not in _login_cookie(behind_proxy).lower()  # plain http from the proxy


def test_forwarded_headers_from_anyone_else_are_ignored(client):
    cookie = _login_cookie(client, {"x-forwarded-proto": "https"})
    assert "; secure" not in cookie.lower()
    assert "strict-transport-security" not in client.get("/dang-nhap", headers={"x-forwarded-proto": "https"}).headers


def test_cookie_secure_setting_marks_every_session_cookie(tmp_path):
    app = create_app(GatewaySettings(data_dir=tmp_path, agencies_file=None, cookie_secure=True))
    app.state.gateway.accounts.create_user(username="hoalt.vp", full_name="Lê Thị Hoa", agency_id="000.00.00.H60",
                                           roles=["clerk"], password=PASSWORD, must_change_password=False)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert "; secure" in _login_cookie(c).lower()
