"""Sign-in, sessions, lockout, CSRF and tokens through the gateway's HTTP interface."""

from sqlalchemy import select

from gateway.models import LoginEvent
from tests.gateway.conftest import PASSWORD, csrf_of, login


def test_login_opens_a_session_and_shows_the_home_page(client):
    r = login(client, "hoalt.vp")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "cv_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "Xin chào, Lê Thị Hoa" in page.text


def test_wrong_password_is_refused_in_vietnamese_and_recorded(client, gateway_app):
    r = login(client, "hoalt.vp", "sai-mat-khau")
    assert r.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in r.text
    with gateway_app.state.gateway.db.session() as s:
        outcomes = [e.outcome for e in s.scalars(select(LoginEvent).where(LoginEvent.username == "hoalt.vp"))]
    assert outcomes == ["bad_password"]


def test_repeated_failures_lock_the_account_even_for_the_right_password(client):
    for _ in range(2):
        assert login(client, "hoalt.vp", "sai-mat-khau").status_code == 401
    third = login(client, "hoalt.vp", "sai-mat-khau")
    assert third.status_code == 403 and "tạm khóa" in third.text
    right = login(client, "hoalt.vp", PASSWORD)
    assert right.status_code == 403 and "thử lại sau" in right.text


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    r = login(client, "khongco.vp", "bat-ky")
    assert r.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng." in r.text


def test_first_login_forces_a_password_change(client):
    r = login(client, "anhnv.vp")
    assert r.headers["location"] == "/doi-mat-khau"
    assert client.get("/", follow_redirects=False).headers["location"] == "/doi-mat-khau"
    form = client.get("/doi-mat-khau")
    csrf = csrf_of(form.text)
    weak = client.post("/doi-mat-khau", data={"csrf_token": csrf, "old_password": PASSWORD,
                                               "new_password": "short", "confirm_password": "short"})
    assert weak.status_code == 422 and "10 ký tự" in weak.text
    ok = client.post("/doi-mat-khau", data={"csrf_token": csrf, "old_password": PASSWORD,
                                             "new_password": "Moi-Mat-Khau-9", "confirm_password": "Moi-Mat-Khau-9"},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert client.get("/").status_code == 200


def test_posts_without_the_csrf_token_are_refused(client):
    login(client, "hoalt.vp")
    r = client.post("/dang-xuat", data={}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    assert client.get("/").status_code == 200  # still signed in


def test_logout_ends_the_session_on_the_server(client):
    login(client, "hoalt.vp")
    stolen = client.cookies.get("cv_session")
    csrf = csrf_of(client.get("/").text)
    assert client.post("/dang-xuat", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("cv_session", stolen)  # replaying the old cookie must not work
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/dang-nhap")


def test_disabled_account_cannot_sign_in_and_loses_its_sessions(client, gateway_app):
    login(client, "hoalt.vp")
    accounts = gateway_app.state.gateway.accounts
    accounts.set_disabled(accounts.by_username("hoalt.vp").id, True)
    assert client.get("/", follow_redirects=False).status_code == 303
    r = login(client, "hoalt.vp")
    assert r.status_code == 403 and "đã bị khóa" in r.text


def test_api_tokens_authenticate_and_errors_are_problem_json(client):
    anonymous = client.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert anonymous.json()["title"] == "Cần đăng nhập hoặc mã truy cập."
    login(client, "hoalt.vp")
    csrf = csrf_of(client.get("/").text)
    token = client.post("/api/v1/tokens", json={"label": "hệ thống báo cáo"}, headers={"x-csrf-token": csrf}).json()
    client.cookies.clear()
    me = client.get("/api/v1/me", headers={"authorization": f"Bearer {token['token']}"})
    assert me.status_code == 200 and me.json()["username"] == "hoalt.vp"
    bad = client.get("/api/v1/me", headers={"authorization": "Bearer cv_forged"})
    assert bad.status_code == 401


def test_login_redirect_target_must_stay_on_site(client):
    r = client.post("/dang-nhap", data={"username": "hoalt.vp", "password": PASSWORD, "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.headers["location"] == "/"
