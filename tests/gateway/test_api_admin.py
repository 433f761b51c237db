"""The REST API of the administrator's screens (issue 18 item 10) against the real deployment: accounts (create
with a temporary password, change roles, lock and unlock, reset the password), units and the agency's
configuration; the administrator's own agency only (another agency's ids: 404), other roles refused (403)."""

from __future__ import annotations

import secrets
import string
from contextlib import closing

import httpx
import pytest

from services.registry.numbering import numbering_year
from tests.deployment import demo_password
from tests.e2e.helpers import signed_in
from tests.gateway.test_api import base_url, csrf_token_of, token_for
from tests.gateway.test_api_writes import key, ok, refused

H60_ADMIN, H17_ADMIN, H60_SPECIALIST, H60_CLERK = "manhhd.vptq", "ngocvt.vpdn", "trangdt.thtq", "hoalt.vptq"
H60_COLLEAGUE, H17_SPECIALIST = "tuanpm.thtq", "phuchv.thdn"


def own_token(dep, username: str, temporary: str, new_password: str | None = None) -> httpx.Client:
    """The newcomer changes the temporary password (through the API; to `new_password` when the test signs in with
    it later) and issues a token of their own."""
    with closing(signed_in(base_url(dep), username, temporary)) as web:
        csrf = {"x-csrf-token": csrf_token_of(web)}
        ok(web.post("/api/v1/me/password", headers=csrf, json={
            "current_password": temporary, "new_password": new_password or f"Moi-{secrets.token_hex(5)}-Tq"}))
        token = ok(web.post("/api/v1/tokens", headers=csrf, json={"label": "kiểm thử"}), 201)["token"]
    return httpx.Client(base_url=base_url(dep), timeout=60, headers={"authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def admins(deployment):
    with closing(token_for(deployment, H60_ADMIN)) as admin, closing(token_for(deployment, H17_ADMIN)) as other, \
            closing(token_for(deployment, H60_SPECIALIST)) as specialist:
        yield admin, other, specialist


def test_accounts_created_changed_locked_and_reset_by_the_agencys_admin(deployment, admins):
    admin, other, specialist = admins
    given = "".join(secrets.choice(string.ascii_lowercase) for _ in range(8)).capitalize()
    person = {"full_name": f"Phạm Văn {given}", "unit": "thtq", "position": "Chuyên viên", "roles": ["specialist"]}
    refused(specialist.get("/api/v1/users"), 403)
    refused(specialist.post("/api/v1/users", json=person), 403)
    refused(admin.post("/api/v1/users", json={**person, "roles": ["vua"]}), 422)
    made = ok(admin.post("/api/v1/users", json=person), 201)
    account = made["account"]
    assert account["username"] == f"{given.lower()}pv.thtq" and account["unit"] == "THTQ"
    assert account["roles"] == ["specialist"] and account["must_change_password"] and not account["locked"]
    taken = refused(admin.post("/api/v1/users", json=person), 409)
    offered = taken["errors"]["value"]
    assert taken["code"] == "username_taken" and offered.startswith(f"{given.lower()}pv") and offered.endswith(".thtq")
    assert offered != account["username"] and offered in taken["title"]
    user_id = account["user_id"]
    assert user_id in [a["user_id"] for a in ok(admin.get("/api/v1/users"))]
    assert ok(admin.get(f"/api/v1/users/{user_id}"))["username"] == account["username"]

    # Another agency's administrator does not reach the account
    refused(other.get(f"/api/v1/users/{user_id}"), 404)
    assert user_id not in other.get("/api/v1/users").text
    change = {"full_name": person["full_name"], "unit": "thtq", "roles": ["specialist", "department_head"]}
    for path in ("lock", "unlock", "password-reset"):
        refused(other.post(f"/api/v1/users/{user_id}/{path}"), 404)
    refused(other.put(f"/api/v1/users/{user_id}", json=change), 404)
    refused(specialist.post(f"/api/v1/users/{user_id}/lock"), 403)

    # The newcomer signs in with the temporary password; new roles take effect at once
    web = signed_in(base_url(deployment), account["username"], made["password"])
    assert web.get("/", follow_redirects=False).headers["location"] == "/doi-mat-khau"
    once = key()
    changed = ok(admin.put(f"/api/v1/users/{user_id}", json=change, headers=once))
    assert set(changed["account"]["roles"]) == {"specialist", "department_head"} and changed["warning"] is None
    assert ok(admin.put(f"/api/v1/users/{user_id}", json=change, headers=once)) == changed
    assert web.get("/", follow_redirects=False).headers["location"].startswith("/dang-nhap")  # session ended
    web.close()
    me = ok(admin.get("/api/v1/me"))
    refused(admin.put(f"/api/v1/users/{me['user_id']}", json={"full_name": me["full_name"], "unit": me["unit"] or "",
                                                               "roles": ["clerk"]}), 422)
    refused(admin.post(f"/api/v1/users/{me['user_id']}/lock"), 422)

    # Lock ends the person's tokens; unlock; a reset gives a new temporary password
    reset = ok(admin.post(f"/api/v1/users/{user_id}/password-reset"))
    assert reset["password"] != made["password"] and reset["account"]["must_change_password"]
    old = httpx.post(f"{base_url(deployment)}/dang-nhap", data={"username": account["username"],
                                                                "password": made["password"], "next": "/"})
    assert old.status_code != 303  # the first temporary password no longer signs in
    theirs = own_token(deployment, account["username"], reset["password"])
    with closing(theirs):
        assert ok(theirs.get("/api/v1/me"))["user_id"] == user_id
        locked = ok(admin.post(f"/api/v1/users/{user_id}/lock"))
        assert locked["account"]["locked"] and locked["open_work_total"] == 0
        refused(theirs.get("/api/v1/me"), 401)
        assert ok(admin.post(f"/api/v1/users/{user_id}/unlock"))["account"]["locked"] is False
        assert theirs.get("/api/v1/me").status_code == 200


def test_units_declared_and_renamed_by_the_agencys_admin(admins):
    admin, other, specialist = admins
    code = "pb" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))
    refused(specialist.get("/api/v1/units"), 403)
    refused(specialist.put(f"/api/v1/units/{code}", json={"name": "Phòng thử"}), 403)
    refused(admin.put("/api/v1/units/Phong-Sai", json={"name": "Phòng thử"}), 422)
    refused(admin.put(f"/api/v1/units/{code}", json={"name": ""}), 422)
    assert ok(admin.put(f"/api/v1/units/{code}", json={"name": "Phòng Kế hoạch"})) == {
        "code": code, "name": "Phòng Kế hoạch", "abbreviation": None, "declared": True, "parent_code": None,
        "depth": 1, "active": True}
    # its part of notations (12/UBND-KHTC) differs from its code; one that cannot stand in a notation is refused
    refused(admin.put(f"/api/v1/units/{code}", json={"name": "Phòng Kế hoạch", "abbreviation": "KH-TC"}), 422)
    ok(admin.put(f"/api/v1/units/{code}", json={"name": "Phòng Kế hoạch - Tài chính", "abbreviation": "khtc"}))
    units = {u["code"]: u for u in ok(admin.get("/api/v1/units"))}
    assert (units[code]["name"], units[code]["abbreviation"]) == ("Phòng Kế hoạch - Tài chính", "KHTC")
    assert code not in [u["code"] for u in ok(other.get("/api/v1/units"))]  # the unit is this agency's


def test_units_nest_inside_one_agency_without_loops_and_at_most_four_levels(admins):
    """Bình Định QĐ 376 Đ4.1 Bước 3 (a Sở's đơn vị trực thuộc have their own phòng): a unit sits under another unit
    of the same agency; another agency's unit, a loop and a fifth level are refused with the reason; a change
    without `parent_code` leaves the unit where it is; every change is in the units' history."""
    admin, other, specialist = admins
    stem = "".join(secrets.choice(string.ascii_lowercase) for _ in range(5))
    a, b, c, d, e = (f"{stem}{n}" for n in "abcde")
    refused(specialist.post("/api/v1/units", json={"code": a, "name": "Chi cục thử"}), 403)
    made = ok(admin.post("/api/v1/units", headers=key(), json={"code": a, "name": "Chi cục Văn thư - Lưu trữ"}), 201)
    assert (made["parent_code"], made["depth"]) == (None, 1)
    assert refused(admin.post("/api/v1/units", json={"code": a, "name": "Lần nữa"}), 409)["code"] == "unit_exists"
    under = ok(admin.post("/api/v1/units", json={"code": b, "name": "Phòng Nghiệp vụ", "parent_code": a}), 201)
    assert (under["parent_code"], under["depth"]) == (a, 2)

    # another agency's unit (Đà Nẵng's Phòng Tổng hợp) is no parent here, and H17 does not see H60's tree
    wrong = refused(admin.put(f"/api/v1/units/{b}", json={"name": "Phòng Nghiệp vụ", "parent_code": "thdn"}), 422)
    assert wrong["code"] == "unknown_parent" and "cùng cơ quan" in wrong["title"]
    refused(other.put(f"/api/v1/units/{stem}x", json={"name": "Phòng của H17", "parent_code": a}), 422)
    # a loop: the Chi cục under its own phòng
    loop = refused(admin.put(f"/api/v1/units/{a}", json={"name": "Chi cục Văn thư - Lưu trữ", "parent_code": b}), 422)
    assert loop["code"] == "unit_cycle" and "dưới chính nó" in loop["title"]
    # four levels, not five
    ok(admin.put(f"/api/v1/units/{c}", json={"name": "Tổ Lưu trữ", "parent_code": b}))
    assert ok(admin.put(f"/api/v1/units/{d}", json={"name": "Nhóm số hóa", "parent_code": c}))["depth"] == 4
    deep = refused(admin.put(f"/api/v1/units/{e}", json={"name": "Quá sâu", "parent_code": d}), 422)
    assert deep["code"] == "unit_too_deep" and "tối đa 4 cấp" in deep["title"]
    assert e not in [u["code"] for u in ok(admin.get("/api/v1/units"))]  # nothing half-saved

    # renamed without parent_code: it stays under its parent; the list is in the tree's order
    assert ok(admin.put(f"/api/v1/units/{c}", json={"name": "Tổ Lưu trữ lịch sử"}))["parent_code"] == b
    listed = [(u["code"], u["depth"]) for u in ok(admin.get("/api/v1/units")) if u["code"].startswith(stem)]
    assert listed == [(a, 1), (b, 2), (c, 3), (d, 4)]
    ok(admin.put(f"/api/v1/units/{d}", json={"name": "Nhóm số hóa", "parent_code": None}))  # back under the agency
    history = ok(admin.get("/api/v1/units/changes"))
    assert history[0]["code"] == d and history[0]["changes"]["parent_code"] == [c, None]
    assert any(h["code"] == c and h["changes"] == {"name": ["Tổ Lưu trữ", "Tổ Lưu trữ lịch sử"]} for h in history)
    refused(specialist.get("/api/v1/units/changes"), 403)
    assert all(not h["code"].startswith(stem) for h in ok(other.get("/api/v1/units/changes")))


def test_agency_configuration_read_and_changed_by_its_admin_only(admins):
    admin, other, specialist = admins
    refused(specialist.get("/api/v1/agency-config"), 403)
    refused(specialist.patch("/api/v1/agency-config", json={"due_soon_hours": 5}), 403)
    before = ok(admin.get("/api/v1/agency-config"))
    theirs = ok(other.get("/api/v1/agency-config"))
    assert before["agency_id"] == "000.00.00.H60" and theirs["agency_id"] == "000.00.00.H17"
    wanted = before["due_soon_hours"] % 48 + 1
    try:
        changed = ok(admin.patch("/api/v1/agency-config", json={"due_soon_hours": wanted}, headers=key()))
        assert changed["due_soon_hours"] == wanted
        assert {k: changed[k] for k in ("calendar", "default_deadline_days", "review_chain", "signing_delegation",
                                        "allow_unsigned_send")} == \
            {k: before[k] for k in ("calendar", "default_deadline_days", "review_chain", "signing_delegation",
                                    "allow_unsigned_send")}
        bad = refused(admin.patch("/api/v1/agency-config", json={
            "due_soon_hours": 1, "calendar": {"periods": ["17:00-07:30"]}}), 422)
        assert "không hợp lệ" in bad["title"]
        assert ok(admin.get("/api/v1/agency-config"))["due_soon_hours"] == wanted  # nothing of a refusal is kept
        assert ok(other.get("/api/v1/agency-config"))["due_soon_hours"] == theirs["due_soon_hours"]
        periods = [f"{a}-{b}" for a, b in before["calendar"]["periods"]]
        kept = ok(admin.patch("/api/v1/agency-config", json={"calendar": {
            "periods": periods, "extra_days_off": before["calendar"].get("extra_days_off") or [],
            "make_up_days": before["calendar"].get("make_up_days") or [],
            "public_holidays": before["calendar"].get("public_holidays", True)}}))
        assert kept["calendar"] == before["calendar"]
    finally:
        ok(admin.patch("/api/v1/agency-config", json={"due_soon_hours": before["due_soon_hours"]}))


def test_registers_closed_and_staff_resynchronised_by_the_admin(admins):
    admin, other, specialist = admins
    opened = ok(admin.post("/api/v1/registers", json={"direction": "outgoing", "year": 2099,
                                                      "name": f"Sổ thử {secrets.token_hex(3)}"}), 201)
    refused(specialist.post(f"/api/v1/registers/{opened['id']}/close"), 403)
    refused(other.post(f"/api/v1/registers/{opened['id']}/close"), 404)
    closed = ok(admin.post(f"/api/v1/registers/{opened['id']}/close", headers=key()))
    assert closed["id"] == opened["id"] and closed["closed"] and closed["closed_at"]
    assert ok(admin.post(f"/api/v1/registers/{opened['id']}/close"))["closed_at"] == closed["closed_at"]
    listed = next(r for r in ok(admin.get("/api/v1/registers", params={"year": 2099})) if r["id"] == opened["id"])
    assert listed["closed"]

    refused(specialist.post("/api/v1/users/sync"), 403)
    synced = ok(admin.post("/api/v1/users/sync"))
    assert synced["warning"] is None and synced["accounts"] == len(ok(admin.get("/api/v1/users")))


def test_an_accounts_tokens_seen_and_revoked_by_the_agencys_admin_only(deployment, admins):
    """A lost phone: the administrator lists the person's tokens (never a secret) and revokes that one; it gets 401
    at once, the person's other token goes on. The pair (account, token id) of the admin's own agency only."""
    admin, other, _specialist = admins
    label = f"điện thoại {secrets.token_hex(3)}"
    with closing(token_for(deployment, H60_SPECIALIST, label)) as phone, \
            closing(token_for(deployment, H60_SPECIALIST, f"báo cáo {secrets.token_hex(3)}")) as kept, \
            closing(token_for(deployment, H60_CLERK)) as clerk, \
            closing(token_for(deployment, H60_COLLEAGUE)) as colleague, \
            closing(token_for(deployment, H17_SPECIALIST)) as foreign:
        owner_id = ok(phone.get("/api/v1/me"))["user_id"]
        colleague_id = ok(colleague.get("/api/v1/me"))["user_id"]
        foreign_id = ok(foreign.get("/api/v1/me"))["user_id"]
        secret = phone.headers["authorization"].removeprefix("Bearer ")
        listed = ok(admin.get(f"/api/v1/users/{owner_id}/tokens"))
        assert secret not in str(listed) and all(set(t) == {"id", "label", "created_at", "last_used_at", "revoked"}
                                                  for t in listed)
        token = next(t for t in listed if t["label"] == label)
        assert not token["revoked"] and token["last_used_at"] is not None  # used for /me above
        colleague_token = ok(colleague.get("/api/v1/tokens"))[0]["id"]
        foreign_token = ok(foreign.get("/api/v1/tokens"))[0]["id"]
        revoke = f"/api/v1/users/{owner_id}/tokens/{token['id']}/revoke"

        for wrong_role in (clerk, colleague, phone):  # the owner too: their own route is /api/v1/tokens
            refused(wrong_role.get(f"/api/v1/users/{owner_id}/tokens"), 403)
            refused(wrong_role.post(revoke), 403)
        refused(other.get(f"/api/v1/users/{owner_id}/tokens"), 404)  # another agency's administrator
        refused(other.post(revoke), 404)
        refused(other.post(f"/api/v1/users/{foreign_id}/tokens/{token['id']}/revoke"), 404)
        refused(admin.get(f"/api/v1/users/{foreign_id}/tokens"), 404)  # another agency's account
        refused(admin.post(f"/api/v1/users/{foreign_id}/tokens/{foreign_token}/revoke"), 404)
        refused(admin.post(f"/api/v1/users/{owner_id}/tokens/{foreign_token}/revoke"), 404)
        refused(admin.post(f"/api/v1/users/{colleague_id}/tokens/{token['id']}/revoke"), 404)  # not theirs
        refused(admin.post(f"/api/v1/users/{owner_id}/tokens/{colleague_token}/revoke"), 404)
        refused(admin.post(f"/api/v1/users/{owner_id}/tokens/0000000000000000/revoke"), 404)
        refused(admin.post(f"/api/v1/users/{owner_id}/tokens/not-a-token/revoke"), 422)
        for client in (phone, colleague, foreign):  # the refusals above changed nothing
            assert client.get("/api/v1/me").status_code == 200

        once = key()
        revoked = ok(admin.post(revoke, headers=once))
        assert revoked == {"id": token["id"], "label": label, "revoked": True}
        refused(phone.get("/api/v1/me"), 401)
        replayed = admin.post(revoke, headers=once)
        assert replayed.json() == revoked and replayed.headers["idempotency-replayed"] == "true"
        assert ok(admin.post(revoke)) == revoked  # again: unchanged
        assert next(t for t in ok(admin.get(f"/api/v1/users/{owner_id}/tokens")) if t["id"] == token["id"])["revoked"]
        assert kept.get("/api/v1/me").status_code == 200  # the account and its other token go on
        assert next(t for t in ok(kept.get("/api/v1/tokens")) if t["id"] == token["id"])["revoked"]  # theirs too

    # the account's admin history names the revocation once, with the label and the administrator
    admin_name = ok(admin.get("/api/v1/me"))["full_name"]
    with closing(signed_in(base_url(deployment), H60_ADMIN, demo_password(deployment, H60_ADMIN))) as web:
        history = web.get(f"/quan-tri/nguoi-dung/{owner_id}").text
    assert history.count(f"Thu hồi mã truy cập API “{label}” · {admin_name}") == 1


def _free_scopes(admin: httpx.Client, year: int, count: int) -> list[str]:
    """Type codes with no copies register of that year yet in the agency (the deployment is shared by the run)."""
    used = {r["scope"] for r in ok(admin.get("/api/v1/registers", params={"year": year, "direction": "copies"}))}
    return [code for code in ("GGT", "GNP", "PG", "PC", "HĐ", "CĐ") if code not in used][:count]


def test_registers_renamed_and_reopened_by_the_admin(admins):
    """Sửa sổ and mở lại sổ: an open register's name only; a closed register of this year reopened with a reason
    (the closing kept), once per Idempotency-Key; last year's is not; other roles 403, another agency 404."""
    admin, other, specialist = admins
    year = numbering_year()
    stem = secrets.token_hex(3)
    first_scope, second_scope = _free_scopes(admin, year, 2)
    first = ok(admin.post("/api/v1/registers", json={"direction": "copies", "year": year, "scope": first_scope,
                                                     "name": f"Sổ sao thử {stem} A"}), 201)
    second = ok(admin.post("/api/v1/registers", json={"direction": "copies", "year": year, "scope": second_scope,
                                                      "name": f"Sổ sao thử {stem} B"}), 201)
    path = f"/api/v1/registers/{first['id']}"

    refused(specialist.patch(path, json={"name": "Tên khác"}), 403)
    refused(other.patch(path, json={"name": "Tên khác"}), 404)
    refused(admin.patch(path, json={"name": ""}), 422)
    once = key()
    renamed = ok(admin.patch(path, json={"name": f"Sổ sao thử {stem} đã đổi tên"}, headers=once))
    assert renamed["name"] == f"Sổ sao thử {stem} đã đổi tên"
    assert (renamed["year"], renamed["direction"], renamed["next_number"]) == (year, "copies", 1)
    assert ok(admin.patch(path, json={"name": f"Sổ sao thử {stem} đã đổi tên"}, headers=once)) == renamed
    taken = refused(admin.patch(f"/api/v1/registers/{second['id']}", json={"name": renamed["name"]}), 409)
    assert taken["code"] == "register_name_taken" and "hãy đặt tên khác" in taken["title"]

    assert ok(admin.post(f"{path}/reopen", json={"reason": "Không cần"}))["reopenings"] == []  # open: unchanged
    ok(admin.post(f"{path}/close"))
    assert refused(admin.patch(path, json={"name": "Sau khi khóa"}), 409)["code"] == "register_closed"
    refused(specialist.post(f"{path}/reopen", json={"reason": "Khóa nhầm"}), 403)
    refused(other.post(f"{path}/reopen", json={"reason": "Khóa nhầm"}), 404)
    refused(admin.post(f"{path}/reopen", json={}), 422)
    assert refused(admin.post(f"{path}/reopen", json={"reason": "   "}), 422)["code"] == "reason_required"
    once = key()
    reopened = ok(admin.post(f"{path}/reopen", json={"reason": "Khóa nhầm sổ đang dùng"}, headers=once))
    assert not reopened["closed"] and reopened["next_number"] == 1
    [history] = reopened["reopenings"]
    assert history["reason"] == "Khóa nhầm sổ đang dùng" and history["closed_at"] <= history["reopened_at"]
    assert history["reopened_by"] == history["closed_by"] == ok(admin.get("/api/v1/me"))["user_id"]
    replayed = admin.post(f"{path}/reopen", json={"reason": "Khóa nhầm sổ đang dùng"}, headers=once)
    assert ok(replayed) == reopened and replayed.headers.get("Idempotency-Replayed") == "true"
    listed = next(r for r in ok(admin.get("/api/v1/registers", params={"year": year})) if r["id"] == first["id"])
    assert not listed["closed"] and listed["reopenings"] == reopened["reopenings"]

    # last year's register stays closed: its numbers ended on 31 December
    [old_scope] = _free_scopes(admin, year - 1, 1)
    old = ok(admin.post("/api/v1/registers", json={"direction": "copies", "year": year - 1, "scope": old_scope}), 201)
    ok(admin.post(f"/api/v1/registers/{old['id']}/close"))
    late = refused(admin.post(f"/api/v1/registers/{old['id']}/reopen", json={"reason": "Khóa nhầm"}), 409)
    assert late["code"] == "register_year" and f"trong năm {year}" in late["title"]
