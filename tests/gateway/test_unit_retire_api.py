"""A unit retired ("Ngừng hoạt động": merged into another phòng or dissolved by the province's decision on
organisation) and made to work again, over REST and on the administrator's screens of the real deployment: refused
while people or working units are still in it (the message says what to do first), idempotent, the administrator's
own agency only (another agency's unit: 404), the admin role only (403), recorded in the units' history; retired, it
keeps its name and is offered nowhere new work is given (the account forms, the parent of a unit, the internal
notices) and refused when sent anyway; refused by routing while the unit still handles a document, main or
coordinating, over REST and on the units page, until the leader gives it on or it is finished (routing's own rules:
tests/routing/test_unit_retired.py). The issue form: tests/e2e."""

from __future__ import annotations

import html
import re
import secrets
import string
from contextlib import closing

import pytest

from tests.gateway.test_api import csrf_token_of, session_for, token_for
from tests.gateway.test_api_admin import H17_ADMIN, H60_ADMIN, H60_CLERK, H60_SPECIALIST
from tests.gateway.test_api_entry_for_leader import paper_arrival
from tests.gateway.test_api_writes import HEAD, LEADER, key, me, ok, refused


@pytest.fixture(scope="module")
def clients(deployment):
    with closing(token_for(deployment, H60_ADMIN)) as admin, closing(token_for(deployment, H17_ADMIN)) as other, \
            closing(token_for(deployment, H60_SPECIALIST)) as specialist, \
            closing(session_for(deployment, H60_ADMIN)) as screens:
        yield admin, other, specialist, screens


@pytest.fixture(scope="module")
def handlers(deployment):
    """Tuyên Quang's clerk, leader and head of Tổng hợp: they give documents to a unit and handle them."""
    with closing(token_for(deployment, H60_CLERK)) as clerk, closing(token_for(deployment, LEADER)) as leader, \
            closing(token_for(deployment, HEAD)) as head:
        yield clerk, leader, head


def offered(page: str, select_or_list: str) -> set[str]:
    """The unit codes a <select name=...> or <datalist id=...> of the page offers."""
    block = re.search(rf'<(?:select name|datalist id)="{select_or_list}".*?</(?:select|datalist)>', page, re.S)
    assert block, select_or_list
    return set(re.findall(r'<option value="([^"]*)"', block.group(0)))


def test_a_unit_is_retired_once_emptied_offered_nowhere_then_works_again(clients):
    admin, other, specialist, screens = clients
    stem = "".join(secrets.choice(string.ascii_lowercase) for _ in range(5))
    chi_cuc, phong, late = f"{stem}a", f"{stem}b", f"{stem}c"
    ok(admin.post("/api/v1/units", json={"code": chi_cuc, "name": "Chi cục Thủy lợi"}), 201)
    ok(admin.post("/api/v1/units", json={"code": phong, "name": "Phòng Đê điều", "parent_code": chi_cuc}), 201)
    given = "".join(secrets.choice(string.ascii_lowercase) for _ in range(7)).capitalize()
    person = {"full_name": f"Đỗ Văn {given}", "unit": phong, "position": "Chuyên viên", "roles": ["specialist"]}
    account = ok(admin.post("/api/v1/users", json=person), 201)["account"]
    # a leaver's account, locked, stays in the phòng: it does not hold the retirement up, nor offers the unit anywhere
    leaver = ok(admin.post("/api/v1/users", json={**person, "full_name": f"Trần Văn {given}"}), 201)["account"]
    ok(admin.post(f"/api/v1/users/{leaver['user_id']}/lock"))

    refused(specialist.post(f"/api/v1/units/{phong}/retire"), 403)
    refused(other.post(f"/api/v1/units/{phong}/retire"), 404)     # Đà Nẵng's admin: not a unit of Đà Nẵng
    refused(other.post(f"/api/v1/units/{phong}/reactivate"), 404)
    # what to do first: the units still working under it, then the people still in it
    below = refused(admin.post(f"/api/v1/units/{chi_cuc}/retire"), 409)
    assert below["code"] == "unit_has_subunits" and f"Phòng Đê điều ({phong})" in below["title"]
    people = refused(admin.post(f"/api/v1/units/{phong}/retire"), 409)
    assert people["code"] == "unit_has_people" and person["full_name"] in people["title"]
    assert "Sửa tài khoản" in people["title"]

    # the administrator moves the person (account edit), then retires the phòng: asked again, the same answer
    ok(admin.put(f"/api/v1/users/{account['user_id']}", json={**person, "unit": "thtq"}))
    retired = ok(admin.post(f"/api/v1/units/{phong}/retire", headers=key()))
    assert (retired["active"], retired["name"], retired["parent_code"]) == (False, "Phòng Đê điều", chi_cuc)
    assert ok(admin.post(f"/api/v1/units/{phong}/retire")) == retired
    assert [h["changes"] for h in ok(admin.get("/api/v1/units/changes"))
            if h["code"] == phong and "active" in h["changes"]] == [{"active": [True, False]}]
    assert {u["code"]: u["active"] for u in ok(admin.get("/api/v1/units"))}[phong] is False

    # retired: sent anyway, refused the same way as a unit not allowed; nothing half-saved
    for refusal in (admin.post("/api/v1/users", json={**person, "full_name": f"Lê Thị {given}"}),
                    admin.put(f"/api/v1/users/{account['user_id']}", json=person),
                    admin.post("/api/v1/units", json={"code": late, "name": "Tổ mới", "parent_code": phong})):
        body = refused(refusal, 422)
        assert body["code"] == "unit_retired" and "Phòng Đê điều" in body["title"]
        assert "đã ngừng hoạt động" in body["title"]
    assert late not in [u["code"] for u in ok(admin.get("/api/v1/units"))]
    assert ok(admin.get(f"/api/v1/users/{account['user_id']}"))["unit"] == "THTQ"
    # ... and offered nowhere: the account forms, the parent of a unit; greyed in the tree, its name kept
    page = screens.get("/quan-tri/don-vi").text
    assert phong not in offered(page, "parent_code") and chi_cuc in offered(page, "parent_code")
    row = re.search(rf'<tr class="depth-2 inactive"><td><code>{phong}</code>.*?</tr>', page, re.S)
    assert row and "Phòng Đê điều" in row.group(0) and "(ngừng hoạt động)" in row.group(0)
    assert f"Hoạt động lại đơn vị {phong}" in row.group(0)
    for path in ("/quan-tri/nguoi-dung", f"/quan-tri/nguoi-dung/{account['user_id']}"):
        assert phong not in offered(screens.get(path).text, "units") and chi_cuc in offered(screens.get(path).text,
                                                                                             "units")
    # ... nor to a notice (Thông báo nội bộ: the agency's working units, codes as people carry them); sent anyway,
    # refused, and no notice is published
    notices = offered(screens.get("/thong-bao").text, "units")
    assert phong.upper() not in notices and chi_cuc.upper() in notices and "THTQ" in notices
    title = f"Thông báo {given}"
    body = refused(admin.post("/api/v1/notices", json={"title": title, "units": [chi_cuc.upper(), phong.upper()]}),
                   422)
    assert body["code"] == "unit_retired" and "Phòng Đê điều" in body["title"] and "đã ngừng hoạt động" in body["title"]
    assert title not in [n["title"] for n in ok(admin.get("/api/v1/notices", params={"size": 100}))["items"]]

    # the Chi cục, now empty, retires too; the phòng comes back only under a working unit
    ok(admin.post(f"/api/v1/units/{chi_cuc}/retire"))
    first = refused(admin.post(f"/api/v1/units/{phong}/reactivate"), 409)
    assert first["code"] == "unit_parent_retired" and "Chi cục Thủy lợi" in first["title"]
    assert ok(admin.post(f"/api/v1/units/{chi_cuc}/reactivate"))["active"] is True
    back = ok(admin.post(f"/api/v1/units/{phong}/reactivate", headers=key()))
    assert back["active"] is True and ok(admin.post(f"/api/v1/units/{phong}/reactivate")) == back
    assert ok(admin.put(f"/api/v1/users/{account['user_id']}", json=person))["account"]["unit"] == phong.upper()
    assert phong in offered(screens.get("/quan-tri/don-vi").text, "parent_code")


def is_active(admin, code: str) -> bool:
    return {u["code"]: u["active"] for u in ok(admin.get("/api/v1/units"))}[code]


def test_a_unit_still_handling_documents_retires_once_they_are_given_on_or_finished(clients, handlers):
    """"cơ quan, đơn vị sau khi sáp nhập, tiếp nhận chức năng, nhiệm vụ có trách nhiệm tiếp nhận thực hiện các
    nhiệm vụ ... của cơ quan, đơn vị được sáp nhập" (Tuyên Quang QĐ 51/2024/QĐ-UBND Điều 23): until the leader gives
    the merged phòng's documents on (Giao lại) or they are finished, routing refuses its retirement, and the
    administrator reads why, over REST and on the units page, the unit still working."""
    admin, _other, _specialist, screens = clients
    clerk, leader, head = handlers
    code = "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))
    name, tag = "Phòng Quản lý đô thị", secrets.token_hex(3)
    ok(admin.post("/api/v1/units", json={"code": code, "name": name}), 201)
    given = "".join(secrets.choice(string.ascii_lowercase) for _ in range(7)).capitalize()
    chief = ok(admin.post("/api/v1/users", json={"full_name": f"Phạm Văn {given}", "unit": code,
                                                 "position": "Trưởng phòng", "roles": ["department_head"]}),
               201)["account"]
    leader_id, tong_hop = me(leader)["user_id"], me(head)["unit"]
    subjects = (f"Về quy hoạch chung đô thị ({tag})", f"Về kiểm tra trật tự xây dựng ({tag})")
    led, joined = (paper_arrival(clerk, subject) for subject in subjects)
    for incoming, targets in ((led, {"main": {"unit": code.upper()}}),
                              (joined, {"main": {"unit": tong_hop}, "coordinators": [{"unit": code.upper()}]})):
        ok(clerk.post(f"/api/v1/handling/{incoming}/submit", json={"to_user_id": leader_id}, headers=key()))
        ok(leader.post(f"/api/v1/handling/{incoming}/direct", headers=key(),
                       json={"directive": "Giao xử lý", **targets}))
    # the phòng is merged: its head leaves (locked), so only the documents it handles hold it back
    ok(admin.post(f"/api/v1/users/{chief['user_id']}/lock"))

    held = refused(admin.post(f"/api/v1/units/{code}/retire", headers=key()), 409)
    assert held["code"] == "unit_has_open_work", held
    assert f"Chưa thể cho đơn vị {name} ngừng hoạt động: đơn vị còn xử lý 2 văn bản đến chưa xong" in held["title"]
    assert all(f"“{subject}”" in held["title"] for subject in subjects), held["title"]
    assert "Giao lại" in held["title"] and "hoàn thành xử lý trước" in held["title"]
    assert is_active(admin, code) is True
    # the same refusal above the units' tree, the unit still offered "Ngừng hoạt động"
    page = screens.post(f"/quan-tri/don-vi/{code}/ngung-hoat-dong", data={"csrf_token": csrf_token_of(screens)})
    assert page.status_code == 409, page.text[:500]
    alert = re.search(r'<p class="notice error" role="alert">(.*?)</p>', page.text, re.S)
    assert alert and html.unescape(alert.group(1)) == held["title"]
    row = re.search(rf'<tr class="depth-\d+"><td><code>{code}</code>.*?</tr>', page.text, re.S)
    assert row and f"Ngừng hoạt động đơn vị {code}" in row.group(0), "the unit shown retired"
    assert is_active(admin, code) is True

    # the leader gives the first to Tổng hợp (Giao lại): the coordinated one still holds the phòng back
    ok(leader.post(f"/api/v1/handling/{led}/handlers", headers=key(),
                   json={"main": {"unit": tong_hop}, "note": "Phòng Quản lý đô thị đã sáp nhập"}))
    still = refused(admin.post(f"/api/v1/units/{code}/retire", headers=key()), 409)
    assert "còn xử lý 1 văn bản" in still["title"] and f"“{subjects[1]}”" in still["title"]
    assert f"“{subjects[0]}”" not in still["title"] and is_active(admin, code) is True
    # Tổng hợp finishes the second (lưu tham khảo): the phòng retires, on the screen
    ok(head.post(f"/api/v1/handling/{joined}/keep", headers=key(), json={"note": "Lưu hồ sơ"}))
    done = screens.post(f"/quan-tri/don-vi/{code}/ngung-hoat-dong", data={"csrf_token": csrf_token_of(screens)},
                        follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/quan-tri/don-vi?tb=da-ngung-don-vi")
    assert is_active(admin, code) is False
