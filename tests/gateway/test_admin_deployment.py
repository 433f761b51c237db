"""Administration screens against the real deployment: people reach routing's staff directory (sync_staff),
registers are opened in the registry, the configuration goes to routing and comes back."""

from __future__ import annotations

import html
import re
import secrets
import string
from contextlib import closing
from datetime import date

import pytest

from services.common.actor import Actor
from services.common.errors import NotFound
from services.common.rpc_client import ServiceClient
from tests.e2e.helpers import csrf_of, signed_in
from tests.gateway.test_api import base_url, csrf_token_of, session_for

H60, G22 = "000.00.00.H60", "000.00.00.G22"


def _actor(client) -> Actor:
    me = client.get("/api/v1/me").json()
    return Actor(user_id=me["user_id"], username=me["username"], agency_id=me["agency_id"],
                 roles=frozenset(me["roles"]), full_name=me["full_name"], unit=me["unit"])


def _assign_task(dep, leader: Actor, assignee_id: str, title: str) -> dict:
    with closing(ServiceClient(dep.agencies()[leader.agency_id]["amqp_uri"], size=1, timeout=60)) as rpc:
        return rpc.call("routing", "create_task", leader, title, assignee_id)


def test_people_created_and_locked_by_the_admin_reach_routing(deployment):
    admin = session_for(deployment, "manhhd.vptq")
    leader = session_for(deployment, "annv.vptq")
    given = "".join(secrets.choice(string.ascii_lowercase) for _ in range(8)).capitalize()
    page = admin.get("/quan-tri/nguoi-dung")
    assert page.status_code == 200 and "Tạo tài khoản" in page.text
    created = admin.post("/quan-tri/nguoi-dung", data={
        "csrf_token": csrf_of(page.text), "full_name": f"Trần Văn {given}", "unit": "thtq",
        "position": "Chuyên viên", "roles": ["specialist"]})
    assert created.status_code == 200, created.text[:1000]
    assert "chưa đồng bộ" not in created.text
    username = re.search(r'class="issued-username">([^<]+)<', created.text).group(1)
    password = re.search(r'class="issued-password">([^<]+)<', created.text).group(1)
    assert username == f"{given.lower()}tv.thtq"

    # routing knows the new person at once: the leader can assign work to them
    newcomer = signed_in(base_url(deployment), username, password)
    assert newcomer.get("/", follow_redirects=False).headers["location"] == "/doi-mat-khau"
    user_id = re.search(rf'href="/quan-tri/nguoi-dung/([^"]+)">{re.escape(username)}<',
                        admin.get("/quan-tri/nguoi-dung").text).group(1)
    task = _assign_task(deployment, _actor(leader), user_id, f"Việc cho người mới {given}")
    assert task["assignee"] == user_id and task["unit"] == "THTQ"

    # locked: the sessions end and routing stops offering the person
    person = admin.get(f"/quan-tri/nguoi-dung/{user_id}")
    locked = admin.post(f"/quan-tri/nguoi-dung/{user_id}/khoa", data={"csrf_token": csrf_of(person.text)})
    # the task is still theirs: the notice says so and the page offers the handover (gateway/handover.py)
    assert locked.status_code == 303 and locked.headers["location"].endswith("tb=da-khoa-con-viec")
    assert newcomer.get("/", follow_redirects=False).headers["location"].startswith("/dang-nhap")
    with pytest.raises(NotFound):
        _assign_task(deployment, _actor(leader), user_id, "Việc cho người đã nghỉ")
    assert "Đã khóa" in admin.get(f"/quan-tri/nguoi-dung/{user_id}").text  # kept, never deleted
    for c in (admin, leader, newcomer):
        c.close()


def form_key_of(page: str) -> str:
    """The key of the page's first form that has one (on the registers page: "Mở sổ văn bản")."""
    return re.search(r'name="form_key" value="([^"]+)"', page).group(1)


def test_admin_opens_a_register_in_the_registry(deployment):
    admin = session_for(deployment, "manhhd.vptq")
    page = admin.get("/quan-tri/so-van-ban")
    assert page.status_code == 200 and "Sổ văn bản đến năm" in page.text
    # a year with no copies register yet in this agency (the deployment is shared by the run's tests)
    year = next(y for y in secrets.SystemRandom().sample(range(2040, 2090), 50)
                if not admin.get("/api/v1/registers", params={"year": y, "direction": "copies"}).json())
    data = {"csrf_token": csrf_of(page.text), "direction": "copies", "year": str(year), "scope": "all", "name": "",
            "form_key": form_key_of(page.text)}
    r = admin.post("/quan-tri/so-van-ban", data=data)
    assert r.status_code == 303, re.findall(r'class="notice error"[^>]*>([^<]*)', r.text)
    assert f"Sổ bản sao năm {year}" in admin.get("/quan-tri/so-van-ban").text
    # the same form sent again (a double click, a retry after a timeout) opened it: said so, nothing opened twice
    same = admin.post("/quan-tri/so-van-ban", data=data)
    assert same.status_code == 303 and same.headers["location"].endswith("tb=da-tao-so")
    assert len(admin.get("/api/v1/registers", params={"year": year, "direction": "copies"}).json()) == 1
    # another form for the same register: it is there already
    again = admin.post("/quan-tri/so-van-ban", data={**data, "form_key": form_key_of(admin.get(
        "/quan-tri/so-van-ban").text)})
    assert again.status_code == 409 and "đã có" in again.text
    # the API: the same Idempotency-Key answers the first register again, another request hears 409
    year = next(y for y in secrets.SystemRandom().sample(range(2040, 2090), 50)
                if not admin.get("/api/v1/registers", params={"year": y, "direction": "copies"}).json())
    headers = {"x-csrf-token": csrf_token_of(admin), "Idempotency-Key": f"mo-so-{secrets.token_hex(6)}"}
    body = {"direction": "copies", "year": year}
    opened = admin.post("/api/v1/registers", headers=headers, json=body)
    replayed = admin.post("/api/v1/registers", headers=headers, json=body)
    assert (opened.status_code, replayed.status_code) == (201, 201) and replayed.json()["id"] == opened.json()["id"]
    assert replayed.headers.get("idempotency-replayed") == "true"
    other = admin.post("/api/v1/registers", headers={**headers, "Idempotency-Key": f"mo-so-{secrets.token_hex(6)}"},
                       json=body)
    assert other.status_code == 409 and other.json()["code"] == "register_exists"
    clerk = session_for(deployment, "hoalt.vptq")
    assert clerk.post("/quan-tri/so-van-ban", data={**data, "csrf_token": csrf_token_of(clerk),
                                                    "year": str(year + 1)}).status_code == 403
    admin.close()
    clerk.close()


def test_configuration_round_trips_through_routing(deployment):
    admin = session_for(deployment, "taidv.vpcp")
    page = admin.get("/quan-tri/cau-hinh")
    assert page.status_code == 200 and "Giờ làm việc" in page.text
    form = {name: value for name, value in re.findall(r'<input name="([a-z_]+)"[^>]*value="([^"]*)"', page.text)}
    chain = re.search(r'<textarea name="review_chain"[^>]*>(.*?)</textarea>', page.text, re.S).group(1)
    original = int(form["default_deadline_days"])
    day_off = date(date.today().year + 1, 1, 2).strftime("%d/%m/%Y")
    changed = {**form, "csrf_token": csrf_of(page.text), "default_deadline_days": str(original + 3),
               "periods": "07:30-11:30, 13:30-17:00", "extra_days_off": day_off, "make_up_days": "",
               "public_holidays": "1", "review_chain": html.unescape(chain),
               "signing_delegation": "1"}  # a ticked box, as the page shows it: signing delegation stays allowed
    try:
        saved = admin.post("/quan-tri/cau-hinh", data=changed)
        assert saved.status_code == 303, saved.text[:1000]
        shown = admin.get("/quan-tri/cau-hinh").text
        assert f'value="{original + 3}"' in shown and "07:30-11:30, 13:30-17:00" in shown
        assert date(date.today().year + 1, 1, 2).isoformat() in shown
        broken = admin.post("/quan-tri/cau-hinh", data={**changed, "review_chain": '[{"key": "x"}]'})
        assert broken.status_code == 422 and 'value="' in broken.text
    finally:
        admin.post("/quan-tri/cau-hinh", data={**changed, "default_deadline_days": str(original), "extra_days_off": ""})
    assert f'value="{original}"' in admin.get("/quan-tri/cau-hinh").text
    admin.close()


def test_agency_rules_on_the_configuration_screen_and_the_api(deployment):
    """Every rule with its legal source on the screen and in /api/v1/agency-rules; a change reaches the service
    that keeps it (registry, routing); wrong values and non-admins are refused. Defaults restored afterwards."""
    admin, clerk = session_for(deployment, "taidv.vpcp"), session_for(deployment, "thunt.vpcp")
    defaults = {"register_openers": "admin", "late_forwarders": "everyone", "registration_limit_hours": 8}
    try:
        page = admin.get("/quan-tri/cau-hinh").text
        assert "Quy định áp dụng của cơ quan" in page
        for source in ("Hưng Yên, Điều 8.3", "Đà Nẵng Điều 13.5d", "Bình Định) Điều 4.3", "TP.HCM Điều 10"):
            assert source in html.unescape(page), source
        shown = {r["key"]: r for r in admin.get("/api/v1/agency-rules").json()}
        assert set(shown) >= {"legal_validity", "registration_limit_hours", "late_forwarders", "leaver_accounts",
                              "register_openers", "dossier_transfer_due", "paper_signing"}
        assert shown["register_openers"]["value"] == "admin" and shown["registration_limit_hours"]["default"] == 8
        csrf = {"x-csrf-token": csrf_token_of(admin)}
        changed = admin.put("/api/v1/agency-rules", headers=csrf, json={"values": {
            "register_openers": "admin_and_clerk", "late_forwarders": "clerk_only", "registration_limit_hours": 4}})
        assert changed.status_code == 200, changed.text
        now = {r["key"]: r["value"] for r in changed.json()}
        assert (now["register_openers"], now["late_forwarders"], now["registration_limit_hours"]) == \
            ("admin_and_clerk", "clerk_only", 4)
        # the clerk may now open a register (the registry applies the rule), on the screen and with the API
        clerk_csrf = {"x-csrf-token": csrf_token_of(clerk)}
        opened = clerk.post("/api/v1/registers", headers=clerk_csrf, json={"direction": "copies", "year": 2090})
        assert opened.status_code == 201 and opened.json()["year"] == 2090
        screen = clerk.get("/quan-tri/so-van-ban")
        assert screen.status_code == 200 and "2090" in screen.text
        bad = admin.put("/api/v1/agency-rules", headers=csrf, json={"values": {"legal_validity": "bất kỳ"}})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        refused = clerk.put("/api/v1/agency-rules", headers=clerk_csrf, json={"values": {"register_openers": "admin"}})
        assert refused.status_code == 403
        form = admin.post("/quan-tri/cau-hinh/quy-dinh", data={"csrf_token": csrf_of(page),
                                                              "rule_registration_limit_hours": "6"})
        assert form.status_code == 303
        assert {r["key"]: r["value"] for r in admin.get("/api/v1/agency-rules").json()}[
            "registration_limit_hours"] == 6
        admin.put("/api/v1/agency-rules", headers=csrf, json={"values": defaults})
        again = clerk.post("/api/v1/registers", headers=clerk_csrf, json={"direction": "copies", "year": 2091})
        assert again.status_code == 403  # the default again: administrators only
    finally:
        admin.put("/api/v1/agency-rules", headers={"x-csrf-token": csrf_token_of(admin)}, json={"values": defaults})
        admin.close()
        clerk.close()
