"""Sign-in with the province's directory, against a real OpenLDAP server (Debian's slapd, started here)."""

from __future__ import annotations

import secrets
import shutil

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from gateway.app import create_app
from gateway.ldap_directory import DirectoryUnavailable, LdapConfig, LdapDirectory, normalize_dn, roles_for
from gateway.models import DirectoryAccount
from gateway.settings import GatewaySettings
from services.common.errors import ValidationFailed
from tests.gateway.conftest import PASSWORD, csrf_of, login
from tests.ldap_server import GROUPS, PEOPLE, SLAPD, SUFFIX, Slapd, free_port, group, person, ssha

AGENCY = "000.00.00.H60"
ROLE_MAP = {f"cn=vanthu,{GROUPS}": ["clerk"], f"cn=chuyenvien,{GROUPS}": ["specialist"],
            f"cn=lanhdao,{GROUPS}": ["leader"]}
# One generated password per directory person (never in the repository).
PEOPLE_PASSWORDS = {uid: f"Tq-{secrets.token_urlsafe(9)}-7" for uid in
                    ("hoalt", "anhnv", "khanhpq", "lockme", "leaver", "offline", "mover", "brute", "twohats")}
SERVICE_PASSWORD = secrets.token_urlsafe(18)

pytestmark = pytest.mark.skipif(not shutil.which(SLAPD), reason="slapd is installed by ./congvan test (infra/stack.py)")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    names = {"hoalt": ("Lê Thị Hoa", "VP"), "anhnv": ("Nguyễn Văn Anh", "VP"), "khanhpq": ("Phạm Quốc Khánh", ""),
             "lockme": ("Trần Văn Khóa", ""), "leaver": ("Đỗ Thị Nghỉ", ""), "offline": ("Vũ Văn Tạm", ""),
             "mover": ("Hoàng Văn Chuyển", ""), "brute": ("Bùi Văn Sai", ""), "twohats": ("Ngô Thị Hai", "")}
    ldif = "".join(person(uid, name, PEOPLE_PASSWORDS[uid], unit) for uid, (name, unit) in names.items())
    ldif += (f"dn: cn=congvan,{SUFFIX}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
             f"cn: congvan\nuserPassword: {ssha(SERVICE_PASSWORD)}\n\n")
    ldif += group("vanthu", ["hoalt", "lockme", "leaver", "offline", "brute", "twohats"])
    ldif += group("chuyenvien", ["anhnv", "mover", "twohats"])
    ldif += group("lanhdao", [])
    ldif += group("congdoan", ["khanhpq"])  # a group with no role here
    server = Slapd(tmp_path_factory.mktemp("slapd"))
    server.start(ldif)
    yield server
    server.stop()


def ldap_settings(slapd: Slapd, **overrides) -> dict:
    return {"ldap_url": slapd.url, "ldap_agency_id": AGENCY, "ldap_bind_dn_template": f"uid={{username}},{PEOPLE}",
            "ldap_group_base": GROUPS, "ldap_role_map": ROLE_MAP, "ldap_unit_attribute": "departmentNumber",
            "ldap_active_filter": "(!(employeeType=disabled))", **overrides}


@pytest.fixture
def app(tmp_path, slapd):
    settings = GatewaySettings(data_dir=tmp_path, agencies_file=None, lockout_failures=3, lockout_minutes=15,
                               **ldap_settings(slapd))
    app = create_app(settings)
    app.state.gateway.accounts.create_user(username="hoalt.vp", full_name="Lê Thị Hoa", agency_id=AGENCY,
                                           roles=["clerk"], password=PASSWORD, unit="VP", must_change_password=False)
    return app


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def accounts(app):
    return app.state.gateway.accounts


def outcomes(app, username: str) -> list[str]:
    return [e.outcome for e in reversed(accounts(app).login_events(username))]


def test_a_directory_person_signs_in_with_the_directory_password_and_gets_roles_from_groups(app, client):
    assert login(client, "hoalt", "Sai-mat-khau-1").status_code == 401
    response = login(client, "hoalt", PEOPLE_PASSWORDS["hoalt"])
    assert response.status_code == 303 and response.headers["location"] == "/"  # no local password to change
    user = accounts(app).by_username("hoalt")
    assert (user.full_name, user.agency_id, user.roles, user.unit) == ("Lê Thị Hoa", AGENCY, ["clerk"], "vp")
    assert user.email == "hoalt@tuyenquang.gov.vn"
    assert accounts(app).is_directory_account(user.id)
    assert "Lê Thị Hoa" in client.get("/").text
    me = client.get("/api/v1/me").json()
    assert (me["username"], me["roles"], me["sign_in"]) == ("hoalt", ["clerk"], "directory")
    assert outcomes(app, "hoalt") == ["bad_password", "ok"]


def test_every_mapped_group_adds_its_role_and_a_person_in_no_mapped_group_is_refused(app, client):
    assert login(client, "twohats", PEOPLE_PASSWORDS["twohats"]).status_code == 303
    assert accounts(app).by_username("twohats").roles == ["clerk", "specialist"]
    response = login(client, "khanhpq", PEOPLE_PASSWORDS["khanhpq"])
    assert response.status_code == 403 and "chưa thuộc nhóm nào" in response.text
    assert accounts(app).by_username("khanhpq") is None  # nothing is created for a person without a role
    assert outcomes(app, "khanhpq") == ["no_role"]


def test_moving_to_another_group_changes_the_roles_at_the_next_sign_in_and_ends_old_sessions(app, slapd):
    with TestClient(app, base_url="http://127.0.0.1") as first, TestClient(app, base_url="http://127.0.0.1") as second:
        assert login(first, "mover", PEOPLE_PASSWORDS["mover"]).status_code == 303
        assert first.get("/", follow_redirects=False).status_code == 200
        slapd.move_to_group("mover", "chuyenvien", "lanhdao")
        assert login(second, "mover", PEOPLE_PASSWORDS["mover"]).status_code == 303
        assert accounts(app).by_username("mover").roles == ["leader"]
        assert first.get("/", follow_redirects=False).status_code == 303  # the specialist's session has ended
        assert second.get("/", follow_redirects=False).status_code == 200


def test_an_account_locked_in_the_directory_is_refused(app, client, slapd):
    assert login(client, "lockme", PEOPLE_PASSWORDS["lockme"]).status_code == 303
    slapd.lock("lockme")  # OpenLDAP's ppolicy lock: the directory itself refuses the bind
    assert login(client, "lockme", PEOPLE_PASSWORDS["lockme"]).status_code == 401
    assert login(client, "offline", PEOPLE_PASSWORDS["offline"]).status_code == 303
    slapd.set_attribute("offline", "employeeType", "disabled")  # a lock the directory marks on the entry
    response = login(client, "offline", PEOPLE_PASSWORDS["offline"])
    assert response.status_code == 403 and "bị khóa trên hệ thống thư mục" in response.text
    assert outcomes(app, "lockme")[-1] == "bad_password" and outcomes(app, "offline")[-1] == "directory_locked"


def test_an_account_removed_from_the_directory_is_refused(app, client, slapd):
    assert login(client, "leaver", PEOPLE_PASSWORDS["leaver"]).status_code == 303
    slapd.remove("leaver")
    response = login(client, "leaver", PEOPLE_PASSWORDS["leaver"])
    assert response.status_code == 401 and "không đúng" in response.text


def test_the_local_lockout_still_applies_to_directory_accounts(app, client):
    assert login(client, "brute", PEOPLE_PASSWORDS["brute"]).status_code == 303
    for _ in range(2):
        assert login(client, "brute", "Sai-mat-khau-1").status_code == 401
    response = login(client, "brute", "Sai-mat-khau-1")
    assert response.status_code == 403 and "tạm khóa 15 phút" in response.text
    response = login(client, "brute", PEOPLE_PASSWORDS["brute"])  # the right password, during the lock
    assert response.status_code == 403 and "thử lại sau" in response.text
    assert outcomes(app, "brute") == ["ok", "bad_password", "bad_password", "locked_now", "locked_out"]


def test_an_account_locked_by_the_administrator_here_is_refused_whatever_the_directory_says(app, client):
    assert login(client, "anhnv", PEOPLE_PASSWORDS["anhnv"]).status_code == 303
    accounts(app).set_disabled(accounts(app).by_username("anhnv").id, True)
    assert login(client, "anhnv", PEOPLE_PASSWORDS["anhnv"]).status_code == 403


def test_an_empty_password_never_becomes_an_anonymous_bind(app, slapd):
    directory = accounts(app).directory
    assert directory.authenticate("hoalt", "") == "bad_password"
    assert directory.authenticate("hoalt)(uid=*", "x") == "unknown_user"  # refused before reaching a filter or DN


def test_local_accounts_keep_their_password_and_the_naming_rule_with_a_directory(app, client):
    assert login(client, "hoalt.vp").status_code == 303  # the local password, not the directory's
    assert client.get("/api/v1/me").json()["sign_in"] == "local"
    assert not accounts(app).is_directory_account(accounts(app).by_username("hoalt.vp").id)
    with pytest.raises(ValidationFailed, match="quy tắc"):  # Tuyên Quang QĐ 51/2024 Đ6.3: <tên><họ đệm>.<đơn vị>
        accounts(app).create_user(username="hoalt", full_name="Lê Thị Hoa", agency_id=AGENCY, roles=["clerk"],
                                  password=PASSWORD)


def test_directory_passwords_are_changed_in_the_directory_not_here(app, client):
    assert login(client, "hoalt", PEOPLE_PASSWORDS["hoalt"]).status_code == 303
    page = client.get("/doi-mat-khau").text
    old, new = PEOPLE_PASSWORDS["hoalt"], "Moi-mat-khau-2026"
    response = client.post("/doi-mat-khau", data={"csrf_token": csrf_of(page), "old_password": old,
                                                 "new_password": new, "confirm_password": new})
    assert response.status_code == 422 and "hệ thống thư mục" in response.text
    user = accounts(app).by_username("hoalt")
    with pytest.raises(ValidationFailed, match="hệ thống thư mục"):
        accounts(app).reset_password(AGENCY, user.id)
    with app.state.gateway.db.session() as s:
        assert s.get(DirectoryAccount, user.id).dn == f"uid=hoalt,{PEOPLE}"


def test_search_mode_finds_the_person_with_a_service_account(slapd):
    config = LdapConfig(**{k[5:]: v for k, v in ldap_settings(slapd).items()} | {
        "bind_dn_template": "", "search_base": PEOPLE, "search_filter": "(|(uid={username})(mail={username}))",
        "service_dn": f"cn=congvan,{SUFFIX}", "service_password": SERVICE_PASSWORD})
    directory = LdapDirectory(config)
    found = directory.authenticate("anhnv@tuyenquang.gov.vn", PEOPLE_PASSWORDS["anhnv"])
    assert found.dn == f"uid=anhnv,{PEOPLE}" and found.roles == ["specialist"]
    assert directory.authenticate("nobody", "Whatever-123") == "unknown_user"
    assert directory.authenticate("anhnv", "Sai-mat-khau-1") == "bad_password"
    wrong_service = LdapDirectory(config.model_copy(update={"service_password": "not-it"}))
    with pytest.raises(DirectoryUnavailable):
        wrong_service.authenticate("anhnv", PEOPLE_PASSWORDS["anhnv"])


def test_when_the_directory_is_down_local_accounts_still_sign_in(tmp_path, slapd):
    settings = GatewaySettings(data_dir=tmp_path, agencies_file=None,
                               **ldap_settings(slapd, ldap_url=f"ldap://127.0.0.1:{free_port()}", ldap_timeout=2))
    app = create_app(settings)
    accounts(app).create_user(username="hoalt.vp", full_name="Lê Thị Hoa", agency_id=AGENCY, roles=["clerk"],
                              password=PASSWORD, must_change_password=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = login(client, "hoalt", PEOPLE_PASSWORDS["hoalt"])
        assert response.status_code == 401 and "Không kết nối được hệ thống thư mục" in response.text
        assert login(client, "hoalt.vp").status_code == 303
    assert outcomes(app, "hoalt") == ["directory_unavailable"]


def test_settings_refuse_a_directory_that_could_not_work():
    base = {"url": "ldap://127.0.0.1:1", "agency_id": AGENCY, "role_map": ROLE_MAP}
    with pytest.raises(ValidationError, match="exactly one"):
        LdapConfig(**base)
    with pytest.raises(ValidationError, match="Vai trò không hợp lệ"):
        LdapConfig(**base | {"bind_dn_template": "uid={username}", "role_map": {"cn=x": ["king"]}})
    with pytest.raises(ValidationError, match="empty"):
        LdapConfig(**base | {"bind_dn_template": "uid={username}", "role_map": {}})


def test_group_dns_are_compared_as_directories_compare_them():
    role_map = LdapConfig(url="ldap://x", agency_id=AGENCY, bind_dn_template="uid={username}",
                          role_map={"CN=VanThu, OU=Groups,DC=tuyenquang,DC=gov,DC=vn": ["clerk"]}).role_map
    assert roles_for(["cn=vanthu,ou=groups,dc=tuyenquang,dc=gov,dc=vn", "cn=other,dc=x"], role_map) == ["clerk"]
    assert normalize_dn(" CN = A ,  DC=B ") == "cn=a,dc=b"
    assert roles_for([], role_map) == []


def test_the_administrator_sees_a_directory_account_as_such(app, client):
    """The account page says the directory manages it and offers no password reset; the login history names the
    directory's refusals in Vietnamese."""
    assert login(client, "twohats", PEOPLE_PASSWORDS["twohats"]).status_code == 303
    assert login(client, "twohats", "Sai-mat-khau-1").status_code == 401
    twohats = accounts(app).by_username("twohats")
    accounts(app).create_user(username="manhhd.vp", full_name="Hoàng Đức Mạnh", agency_id=AGENCY, roles=["admin"],
                              password=PASSWORD, unit="VP", must_change_password=False)
    with TestClient(app, base_url="http://127.0.0.1") as admin:
        assert login(admin, "manhhd.vp").status_code == 303
        page = admin.get(f"/quan-tri/nguoi-dung/{twohats.id}").text
        assert "Tài khoản thư mục (LDAP)" in page and "Đặt lại mật khẩu</button>" not in page
        local = admin.get(f"/quan-tri/nguoi-dung/{accounts(app).by_username('hoalt.vp').id}").text
        assert "Tài khoản thư mục (LDAP)" not in local and "Đặt lại mật khẩu</button>" in local


def test_tls_to_the_directory_verifies_its_certificate(slapd):
    """ldaps:// and StartTLS reach the directory only when its certificate chains to LDAP_CA_FILE."""
    base = {k[5:]: v for k, v in ldap_settings(slapd).items()}
    over_ldaps = LdapDirectory(LdapConfig(**base | {"url": slapd.tls_url, "ca_file": slapd.ca_file}))
    assert over_ldaps.authenticate("anhnv", PEOPLE_PASSWORDS["anhnv"]).roles == ["specialist"]
    assert over_ldaps.authenticate("anhnv", "Sai-mat-khau-1") == "bad_password"
    start_tls = LdapDirectory(LdapConfig(**base | {"start_tls": True, "ca_file": slapd.ca_file}))
    assert start_tls.authenticate("anhnv", PEOPLE_PASSWORDS["anhnv"]).roles == ["specialist"]
    untrusted = LdapDirectory(LdapConfig(**base | {"url": slapd.tls_url}))  # the system's CAs do not know it
    with pytest.raises(DirectoryUnavailable):
        untrusted.authenticate("anhnv", PEOPLE_PASSWORDS["anhnv"])
