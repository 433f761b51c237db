"""Quên mật khẩu over REST and on the screens, the e-mail received by a real SMTP server (aiosmtpd,
tests/mail_server.py): the link works once, within 30 minutes, for an active local account with an address only;
every request is answered alike; the new password signs in and every older session ends."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.app import create_app
from gateway.auth import DIRECTORY_HASH
from gateway.models import DirectoryAccount, HostedAgency, PasswordReset
from gateway.password_reset import NEUTRAL_VI, HideLinkSecret
from gateway.settings import GatewaySettings
from services.common import audit_verify, clock
from tests.gateway.conftest import PASSWORD, login

AGENCY, CLOSED_AGENCY = "000.00.00.H60", "000.00.09.H60"
NEW_PASSWORD = "Mua-thu-Ha-Noi-2026"
PUBLIC_URL = "https://qlvb.tuyenquang.gov.vn"
# 20:10 UTC on 4 December is 03:10 on 5 December in Hà Nội: the e-mail must say the latter.
START = datetime(2026, 12, 4, 20, 10, tzinfo=UTC)


class Clock:
    def __init__(self, monkeypatch) -> None:
        self.now = START
        monkeypatch.setattr(clock, "now_utc", lambda: self.now)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def moments(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def make_app(data_dir, smtp_port: int | None):
    settings = GatewaySettings(data_dir=data_dir, agencies_file=None, public_url=PUBLIC_URL,
                               smtp_host="127.0.0.1" if smtp_port else "", smtp_port=smtp_port or 25,
                               smtp_from="congvan@tuyenquang.gov.vn")
    app = create_app(settings)
    accounts = app.state.gateway.accounts
    people = {
        "hoalt.vp": dict(full_name="Lê Thị Hoa", email="hoa.lt@tuyenquang.gov.vn"),
        "namnv.vp": dict(full_name="Nguyễn Văn Nam", email="nam.nv@tuyenquang.gov.vn"),  # locked below
        "binhtt.vp": dict(full_name="Trần Thị Bình", email=""),  # no address
        "longpv.vp": dict(full_name="Phạm Văn Long", email="long.pv@tuyenquang.gov.vn"),  # the directory's
        "thuld.snv": dict(full_name="Lý Đức Thu", email="thu.ld@tuyenquang.gov.vn", agency_id=CLOSED_AGENCY),
    }
    for username, person in people.items():
        accounts.create_user(username=username, roles=["specialist"], password=PASSWORD, unit="VP",
                             must_change_password=False, **{"agency_id": AGENCY, **person})
    accounts.set_disabled(accounts.by_username("namnv.vp").id, True)
    with app.state.gateway.db.session() as s:
        directory = accounts.by_username("longpv.vp")
        s.get(type(directory), directory.id).password_hash = DIRECTORY_HASH
        s.add(DirectoryAccount(user_id=directory.id, dn="uid=longpv,ou=people,dc=tuyenquang,dc=gov,dc=vn",
                               synced_at=datetime.now(UTC)))
        s.add(HostedAgency(organ_id=CLOSED_AGENCY, name="Sở Nội vụ tỉnh Tuyên Quang", installation="tq",
                           disabled=True, created_at=datetime.now(UTC)))
    return app


@pytest.fixture
def mail(smtp_server, tmp_path):
    inbox, port = smtp_server
    with TestClient(make_app(tmp_path, port), base_url="http://127.0.0.1") as client:
        yield client, inbox


def ask(client: TestClient, username: str):
    r = client.post("/api/v1/password-reset", json={"username": username})
    assert r.status_code == 202, r.text
    assert r.json() == {"message": NEUTRAL_VI}
    return r


def token_in(message) -> str:
    found = re.search(rf"{re.escape(PUBLIC_URL)}/dat-lai-mat-khau\?ma=([A-Za-z0-9_-]+)", message.get_content())
    assert found, message.get_content()
    return found.group(1)


def confirm(client: TestClient, token: str, password: str = NEW_PASSWORD):
    return client.post("/api/v1/password-reset/confirm", json={"token": token, "new_password": password})


def resets(client: TestClient) -> list[PasswordReset]:
    with client.app.state.gateway.db.session() as s:
        return list(s.scalars(select(PasswordReset)))


def test_the_link_in_the_mail_sets_a_new_password_once_and_ends_every_session(mail, moments, tmp_path):
    client, inbox = mail
    with TestClient(client.app, base_url="http://127.0.0.1") as phone:  # another session of the same person
        assert login(client, "hoalt.vp").status_code == 303
        assert login(phone, "hoalt.vp").status_code == 303
        assert phone.get("/api/v1/me").status_code == 200
        accounts = client.app.state.gateway.accounts
        app_token = accounts.issue_api_token(accounts.by_username("hoalt.vp").id, "ứng dụng điện thoại")
        bearer = {"Authorization": f"Bearer {app_token}"}
        assert phone.get("/api/v1/me", headers=bearer).status_code == 200

        ask(client, "hoalt.vp")
        [message] = inbox.parsed()
        assert message["To"] == "hoa.lt@tuyenquang.gov.vn"
        assert message["Subject"] == "Đặt lại mật khẩu tài khoản Công Văn"  # an RFC 2047 subject, decoded
        assert "=?utf-8?" in inbox.messages[0][1].decode().lower()
        body = message.get_content()
        assert "hoalt.vp" in body and "Lê Thị Hoa" in body
        # Vietnam time: asked at 03:10 on 5 December, valid until 03:40
        assert "lúc 03:10 ngày 05/12/2026 (giờ Việt Nam)" in body and "đến 03:40 ngày 05/12/2026" in body
        token = token_in(message)
        assert token not in str([r.token_hash for r in resets(client)])  # only its hash is kept

        page = client.get("/dat-lai-mat-khau", params={"ma": token})
        assert page.status_code == 200 and "hoalt.vp" in page.text

        moments.advance(minutes=29)
        r = confirm(client, token)
        assert r.status_code == 204, r.text
        assert phone.get("/api/v1/me").status_code == 401  # every older session ended
        assert client.get("/api/v1/me").status_code == 401
        # and every API token: the forgotten password may have been found by whoever made them
        phone.cookies.clear()
        assert phone.get("/api/v1/me", headers=bearer).status_code == 401

    assert login(client, "hoalt.vp", PASSWORD).status_code == 401  # the old password is refused
    assert login(client, "hoalt.vp", NEW_PASSWORD).status_code == 303
    assert client.get("/api/v1/me").json()["username"] == "hoalt.vp"

    changed = inbox.parsed()[1]
    assert changed["Subject"] == "Mật khẩu tài khoản Công Văn đã được đổi"
    assert "lúc 03:39 ngày 05/12/2026 (giờ Việt Nam)" in changed.get_content()
    assert token not in changed.get_content()

    again = confirm(client, token, "Mot-mat-khau-Khac-2026")
    assert again.status_code == 400 and again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["code"] == "reset_link_invalid" and again.json()["errors"]["reason"] == "used"
    assert "đã được dùng" in again.json()["title"]
    used = client.get("/dat-lai-mat-khau", params={"ma": token})
    assert used.status_code == 400 and "đã được dùng" in used.text and 'href="/quen-mat-khau"' in used.text

    user_id = accounts.by_username("hoalt.vp").id
    [event] = accounts.admin_events(AGENCY, user_id)
    assert (event.action, event.details["self_service"]) == ("reset_password", True)
    # the audit chain names the person the link proved, and never holds the password's hash
    [reset] = [r for r in audit_verify.entries(client.app.state.gateway.db, entity="users", entity_id=user_id)
               if r["action"] == "update" and "password_hash" in str(r["details"])]
    assert reset["actor"] == user_id and "argon2" not in str(reset["details"]), reset


@pytest.mark.parametrize("username", ["khongco.vp", "namnv.vp", "binhtt.vp", "longpv.vp", "thuld.snv", "hoalt.vp\x00"],
                         ids=["unknown", "locked", "no-email", "ldap", "agency-disabled", "not-a-name"])
def test_no_mail_for_an_account_that_may_not_reset_and_the_same_answer(mail, username, caplog):
    client, inbox = mail
    known = ask(client, "hoalt.vp")
    with caplog.at_level(logging.INFO, logger="gateway.password_reset"):
        other = ask(client, username)
    assert other.content == known.content
    assert len(inbox.messages) == 1  # the first account's mail only
    assert [r.user_id for r in resets(client)] == [client.app.state.gateway.accounts.by_username("hoalt.vp").id]
    assert "nothing sent" in caplog.text
    page = client.post("/quen-mat-khau", data={"username": username})
    assert page.status_code == 200 and NEUTRAL_VI in page.text


def test_an_expired_link_is_refused_and_asks_for_a_new_one(mail, moments):
    client, inbox = mail
    ask(client, "hoalt.vp")
    token = token_in(inbox.parsed()[0])
    moments.advance(minutes=30)
    r = confirm(client, token)
    assert r.status_code == 400 and r.json()["errors"]["reason"] == "expired"
    assert "hết hạn" in r.json()["title"]
    page = client.get("/dat-lai-mat-khau", params={"ma": token})
    assert "hết hạn" in page.text and 'href="/quen-mat-khau"' in page.text
    assert login(client, "hoalt.vp", PASSWORD).status_code == 303  # nothing changed


def test_a_newer_request_ends_the_older_links(mail):
    client, inbox = mail
    ask(client, "hoalt.vp")
    ask(client, "hoalt.vp")
    first, second = (token_in(m) for m in inbox.parsed())
    r = confirm(client, first)
    assert r.status_code == 400 and r.json()["errors"]["reason"] == "replaced"
    assert confirm(client, second).status_code == 204


def test_three_requests_per_account_in_fifteen_minutes_then_silence(mail, moments, caplog):
    client, inbox = mail
    answers = [ask(client, "hoalt.vp").content for _ in range(3)]
    moments.advance(minutes=14)
    with caplog.at_level(logging.WARNING, logger="gateway.password_reset"):
        answers.append(ask(client, "hoalt.vp").content)
    assert len(set(answers)) == 1  # the limited request is answered like the others
    assert len(inbox.messages) == 3
    assert "3 requests in the last 15 minutes" in caplog.text
    moments.advance(minutes=2)  # the first three are older than 15 minutes now
    ask(client, "hoalt.vp")
    assert len(inbox.messages) == 4


def test_the_password_rules_of_the_change_screen_apply_and_keep_the_link(mail):
    client, inbox = mail
    ask(client, "hoalt.vp")
    token = token_in(inbox.parsed()[0])
    for weak, reason in (("ngan", "ít nhất 10 ký tự"), ("hoalt-Mat-khau-1", "tên tài khoản"),
                         (PASSWORD, "khác mật khẩu cũ")):
        r = confirm(client, token, weak)
        assert r.status_code == 422 and reason in r.json()["title"], r.text
    page = client.post("/dat-lai-mat-khau", data={"ma": token, "new_password": NEW_PASSWORD,
                                                  "confirm_password": NEW_PASSWORD + "x"})
    assert page.status_code == 422 and "không khớp" in page.text
    assert confirm(client, token).status_code == 204  # the refusals left the link usable


def test_an_unknown_token_and_a_bearer_token_change_nothing(mail):
    client, _inbox = mail
    r = confirm(client, "khong-phai-ma-that")
    assert r.status_code == 400 and r.json()["errors"]["reason"] == "unknown"
    r = client.post("/api/v1/password-reset", json={"username": "hoalt.vp"},
                    headers={"authorization": "Bearer cv_sai"})  # for signed-out people: a header is ignored
    assert r.status_code == 202
    assert client.post("/api/v1/password-reset", json={}).status_code == 422


def test_without_smtp_the_request_is_logged_and_answered_alike(tmp_path, caplog):
    with TestClient(make_app(tmp_path, None), base_url="http://127.0.0.1") as client, \
            caplog.at_level(logging.WARNING, logger="gateway.password_reset"):
        ask(client, "hoalt.vp")
        assert resets(client) == []
    assert "SMTP_HOST or PUBLIC_URL is not set" in caplog.text


def test_the_sign_in_page_leads_to_the_form_and_back(mail):
    client, inbox = mail
    assert 'href="/quen-mat-khau">Quên mật khẩu?</a>' in client.get("/dang-nhap").text
    form = client.get("/quen-mat-khau")
    assert form.status_code == 200 and "Tên đăng nhập" in form.text
    page = client.post("/quen-mat-khau", data={"username": "hoalt.vp"})
    assert NEUTRAL_VI in page.text
    token = token_in(inbox.parsed()[0])
    done = client.post("/dat-lai-mat-khau", data={"ma": token, "new_password": NEW_PASSWORD,
                                                  "confirm_password": NEW_PASSWORD}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/dang-nhap?thong-bao=mat-khau-moi"
    assert "Đã đặt mật khẩu mới" in client.get(done.headers["location"]).text


def test_the_access_log_never_shows_the_links_secret():
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", f"/dat-lai-mat-khau?ma={uuid.uuid4().hex}", "1.1", 200),
                               None)
    HideLinkSecret().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /dat-lai-mat-khau?ma=*** HTTP/1.1" 200'


def test_requests_at_once_on_postgresql_keep_the_limit_and_one_live_link(pg_url, tmp_path):
    """Gateway workers answer requests side by side: asked many times at once (a script hammering the form), the
    account still gets at most 3 links in 15 minutes, and only the newest one works."""
    import threading

    from gateway.auth import Accounts
    from gateway.models import open_database
    from gateway.password_reset import REQUESTS_PER_WINDOW, PasswordResets
    from services.common.mail import Mailer

    db = open_database(GatewaySettings(data_dir=tmp_path, database_url=pg_url))
    try:
        db.create_all()
        Accounts(db).create_user(username="hoalt.vp", full_name="Lê Thị Hoa", agency_id=AGENCY, roles=["clerk"],
                                 password=PASSWORD, unit="VP", email="hoa.lt@tuyenquang.gov.vn",
                                 must_change_password=False)
        resets_ = PasswordResets(db, Mailer("127.0.0.1"), PUBLIC_URL)  # request() makes the mail, sends none
        start = threading.Barrier(8)
        made: list[int] = []

        def ask_now() -> None:
            start.wait()
            made.append(len(resets_.request("hoalt.vp")))

        threads = [threading.Thread(target=ask_now) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with db.session() as s:
            rows = list(s.scalars(select(PasswordReset)))
        assert sum(made) == len(rows) <= REQUESTS_PER_WINDOW, made
        assert len([r for r in rows if not r.revoked]) == 1, [(r.created_at, r.revoked) for r in rows]
    finally:
        db.dispose()


def test_a_link_ends_when_the_password_or_the_address_changes_another_way(mail):
    """A link sent before the administrator reset the password, before the person changed it themselves, or to an
    address the administrator has since replaced (the mailbox is no longer theirs) sets nothing."""
    client, inbox = mail
    accounts = client.app.state.gateway.accounts
    user = accounts.by_username("hoalt.vp")

    def link_then(change) -> None:
        ask(client, "hoalt.vp")
        token = token_in(inbox.parsed()[-1])
        change()
        r = confirm(client, token, NEW_PASSWORD)
        assert r.status_code == 400 and r.json()["errors"]["reason"] == "replaced", r.text
        assert "mật khẩu đã được đổi" in r.json()["title"]

    temporary = ""

    def admin_resets() -> None:
        nonlocal temporary
        temporary = accounts.reset_password(AGENCY, user.id)

    link_then(admin_resets)
    link_then(lambda: accounts.change_password(user.id, temporary, "Doi-mat-khau-Moi-2026"))
    link_then(lambda: accounts.update_user(AGENCY, user.id, full_name="Lê Thị Hoa", unit="VP", position="",
                                           roles=["specialist"], email="hoa.le@tuyenquang.gov.vn"))
    assert login(client, "hoalt.vp", "Doi-mat-khau-Moi-2026").status_code == 303  # none of the links was used
