"""Recipient groups (nhóm nơi nhận) in-process (gateway/recipient_groups.py and its screens and REST routes): the
administrator keeps them, each change an admin event; the clerk reads them; other roles and other agencies are
refused; a member that left the directory is shown as such and skipped when sending, named, never silently. The
services are not running here: sending through a group, to the interconnect, is tests/e2e/test_recipient_groups.py."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway import recipient_groups as rg
from gateway.app import Viewer, create_app
from gateway.settings import GatewaySettings
from tests.gateway.conftest import PASSWORD, csrf_of, login

H60, SNV, STC, H17, G22 = "000.00.00.H60", "000.00.09.H60", "000.00.02.H60", "000.00.00.H17", "000.00.00.G22"
HUYEN = "000.01.00.H60"
DIRECTORY = [
    {"organ_id": H60, "name": "Ủy ban nhân dân tỉnh Tuyên Quang", "hub": "H60"},
    {"organ_id": SNV, "name": "Sở Nội vụ tỉnh Tuyên Quang", "hub": "H60"},
    {"organ_id": STC, "name": "Sở Tài chính tỉnh Tuyên Quang", "hub": "H60"},
    {"organ_id": HUYEN, "name": "Ủy ban nhân dân huyện Na Hang", "hub": "H60"},
    {"organ_id": H17, "name": "Ủy ban nhân dân thành phố Đà Nẵng", "hub": "H17"},
    {"organ_id": G22, "name": "Văn phòng Chính phủ", "hub": "national"},
]


@pytest.fixture
def groups_app(tmp_path):
    return make_groups_app(tmp_path)


def make_groups_app(tmp_path):
    """The gateway with the directory above and people of Tuyên Quang (admin, clerk, specialist) and Đà Nẵng."""
    app = create_app(GatewaySettings(data_dir=tmp_path, agencies_file=None))
    g = app.state.gateway
    g.directory().import_records(DIRECTORY)
    people = (("manhhd.vptq", H60, "admin"), ("hoalt.vptq", H60, "clerk"), ("trangdt.vptq", H60, "specialist"),
              ("ngocvt.vpdn", H17, "admin"))
    for username, agency, role in people:
        g.accounts.create_user(username=username, full_name=username, agency_id=agency, roles=[role],
                               password=PASSWORD, unit="vp", must_change_password=False)
    return app


def _signed_in(app, username: str) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    assert login(client, username).status_code == 303
    client.headers["x-csrf-token"] = csrf_of(client.get("/tai-khoan").text)
    return client


@pytest.fixture
def admin(groups_app):
    with _signed_in(groups_app, "manhhd.vptq") as c:
        yield c


def _viewer(app, username: str) -> Viewer:
    return Viewer(app.state.gateway.accounts.by_username(username), None)


@contextmanager
def _two_admins(pg_url: str, tmp_path) -> Iterator[tuple[Any, Any]]:
    """A gateway on PostgreSQL (what two workers share) with the directory and two administrators of H60."""
    app = create_app(GatewaySettings(data_dir=tmp_path, agencies_file=None, database_url=pg_url))
    g = app.state.gateway
    try:
        g.directory().import_records(DIRECTORY)
        for username in ("manhhd.vptq", "tuanlm.vptq"):
            g.accounts.create_user(username=username, full_name=username, agency_id=H60, roles=["admin"],
                                   password=PASSWORD, unit="vp", must_change_password=False)
        yield app, g
    finally:
        g.db.dispose()


def _at_once(app, act: Callable[..., None], steps: list[tuple[str, str]]) -> None:
    """Each step `act(client, *step)` by one of the two administrators, all released at the same moment."""
    clients = [_signed_in(app, ("manhhd.vptq", "tuanlm.vptq")[i % 2]) for i in range(len(steps))]
    start = threading.Barrier(len(steps))

    def run(client: TestClient, step: tuple[str, str]) -> None:
        start.wait()
        act(client, *step)

    threads = [threading.Thread(target=run, args=(c, step)) for c, step in zip(clients, steps, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()


def test_the_admin_creates_renames_fills_and_deletes_a_group_and_each_change_is_an_admin_event(groups_app, admin):
    made = admin.post("/api/v1/recipient-groups", json={"name": "Các sở, ban, ngành", "members": [SNV, STC, SNV]})
    assert made.status_code == 201, made.text
    group = made.json()
    assert [m["organ_id"] for m in group["members"]] == [SNV, STC]  # once each, in order
    assert group["member_count"] == 2 and group["unavailable_count"] == 0
    assert group["members"][0] == {"organ_id": SNV, "name": "Sở Nội vụ tỉnh Tuyên Quang", "available": True,
                                   "note": "", "send_to": SNV}
    assert [g["id"] for g in admin.get("/api/v1/recipient-groups").json()] == [group["id"]]

    changed = admin.put(f"/api/v1/recipient-groups/{group['id']}",
                        json={"name": "Sở, ngành và huyện", "members": [STC, HUYEN]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Sở, ngành và huyện"
    assert [m["organ_id"] for m in changed.json()["members"]] == [STC, HUYEN]
    assert admin.get(f"/api/v1/recipient-groups/{group['id']}").json() == changed.json()

    assert admin.delete(f"/api/v1/recipient-groups/{group['id']}").status_code == 204
    assert admin.get(f"/api/v1/recipient-groups/{group['id']}").status_code == 404
    assert admin.get("/api/v1/recipient-groups").json() == []

    g = groups_app.state.gateway
    events = [e.details for e in reversed(g.accounts.admin_events(H60)) if e.action == "recipient_group"]
    assert [e["change"] for e in events] == ["created", "changed", "deleted"]
    assert events[0]["added"] == [SNV, STC]
    assert events[1]["renamed"] == ["Các sở, ban, ngành", "Sở, ngành và huyện"]
    assert events[1]["added"] == [HUYEN] and events[1]["removed"] == [SNV]
    assert events[2]["removed"] == [STC, HUYEN]
    # the writes are in the gateway's audit chain too, naming the administrator
    with g.db.session() as s:
        from sqlalchemy import text

        rows = s.execute(text("SELECT actor, action FROM audit_log WHERE entity = 'recipient_groups'")).all()
    admin_id = g.accounts.by_username("manhhd.vptq").id
    assert len(rows) >= 3 and {r[0] for r in rows} == {admin_id}


def test_wrong_roles_and_another_agencys_groups_are_refused(groups_app, admin):
    group = admin.post("/api/v1/recipient-groups", json={"name": "Các sở", "members": [SNV]}).json()
    path = f"/api/v1/recipient-groups/{group['id']}"
    with _signed_in(groups_app, "hoalt.vptq") as clerk:
        # the clerk reads the groups to send with them, and changes none
        assert [g["id"] for g in clerk.get("/api/v1/recipient-groups").json()] == [group["id"]]
        assert clerk.get(path).status_code == 200
        assert clerk.post("/api/v1/recipient-groups", json={"name": "X", "members": []}).status_code == 403
        assert clerk.put(path, json={"name": "X", "members": []}).status_code == 403
        assert clerk.delete(path).status_code == 403
        assert clerk.get("/quan-tri/nhom-noi-nhan").status_code == 403
    with _signed_in(groups_app, "trangdt.vptq") as specialist:
        assert specialist.get("/api/v1/recipient-groups").status_code == 403
        assert specialist.get(path).status_code == 403
    with _signed_in(groups_app, "ngocvt.vpdn") as other:
        assert other.get("/api/v1/recipient-groups").json() == []
        for answer in (other.get(path), other.put(path, json={"name": "Của Đà Nẵng", "members": []}),
                       other.delete(path), other.get(f"/quan-tri/nhom-noi-nhan/{group['id']}"),
                       other.post(f"/quan-tri/nhom-noi-nhan/{group['id']}/xoa",
                                  data={"csrf_token": other.headers["x-csrf-token"]})):
            assert answer.status_code == 404, answer.text
    assert admin.get(path).json()["name"] == "Các sở"  # unchanged


def test_a_group_names_agencies_of_the_directory_once_by_name(admin):
    def create(name, members):
        return admin.post("/api/v1/recipient-groups", json={"name": name, "members": members})

    assert create("Các sở", [SNV]).status_code == 201
    taken = create("  các SỞ ", [STC])  # the same name, in other case and spacing
    assert taken.status_code == 409 and taken.json()["code"] == "group_name_taken"
    unknown = create("Lạ", ["000.00.77.H60"])
    assert unknown.status_code == 422 and "000.00.77.H60" in unknown.json()["title"]
    itself = create("Mình", [H60])
    assert itself.status_code == 422 and "chính cơ quan mình" in itself.json()["title"]
    assert create("", [SNV]).status_code == 422


def test_a_member_that_left_the_directory_is_shown_and_skipped_when_sending_with_a_warning(groups_app, admin):
    group = admin.post("/api/v1/recipient-groups", json={"name": "Liên tỉnh", "members": [SNV, H17, G22]}).json()
    g = groups_app.state.gateway
    # Đà Nẵng is locked on the interconnect; Văn phòng Chính phủ's record expired without a successor
    g.directory().import_records([{**DIRECTORY[4], "locked": True},
                                  {**DIRECTORY[5], "valid_to": (date.today() - timedelta(days=3)).isoformat()}])
    shown = admin.get(f"/api/v1/recipient-groups/{group['id']}").json()
    assert [(m["organ_id"], m["available"]) for m in shown["members"]] == [(SNV, True), (H17, False), (G22, False)]
    assert shown["unavailable_count"] == 2 and "khóa" in shown["members"][1]["note"]
    page = admin.get(f"/quan-tri/nhom-noi-nhan/{group['id']}").text
    assert page.count("Đã rời danh bạ") == 2 and "2 nơi nhận không còn nhận văn bản" in page

    clerk = _viewer(groups_app, "hoalt.vptq")
    sent = rg.expand(g, clerk, [STC, SNV], [group["id"]])
    assert sent.organ_ids == [STC, SNV]  # the union, once each; the two that left are not sent to
    assert [s["organ_id"] for s in sent.skipped] == [H17, G22]
    assert all(s["group"] == "Liên tỉnh" for s in sent.skipped)
    assert "Không gửi đến 2 nơi nhận" in sent.warning() and H17 in sent.warning()
    # the member kept in the group stays (the admin may still rename the group) but cannot be added anew
    assert admin.put(f"/api/v1/recipient-groups/{group['id']}",
                     json={"name": "Liên tỉnh cũ", "members": [SNV, H17, G22]}).status_code == 200
    again = admin.post("/api/v1/recipient-groups", json={"name": "Mới", "members": [H17]})
    assert again.status_code == 422 and "khóa" in again.json()["title"]

    # Only members that left: nothing to send, and the refusal says why.
    only_left = admin.post("/api/v1/recipient-groups", json={"name": "Chỉ Nội vụ", "members": [SNV]}).json()
    g.directory().import_records([{**DIRECTORY[1], "locked": True}])
    with _signed_in(groups_app, "hoalt.vptq") as web:
        refused = web.post("/api/v1/outgoing", data={
            "code_number": "1", "code_notation": "UBND-VP", "promulgation_date": "2026-11-20", "subject": "Thử",
            "recipient_groups": [only_left["id"]]}, files={"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert refused.status_code == 422, refused.text
    assert "Thiếu trường bắt buộc “Nơi nhận”" in refused.json()["title"]
    assert SNV in refused.json()["title"] and "Chỉ Nội vụ" in refused.json()["title"]


def test_the_sender_itself_and_another_agencys_group_are_never_recipients(groups_app, admin):
    g = groups_app.state.gateway
    mine = admin.post("/api/v1/recipient-groups", json={"name": "Các sở", "members": [SNV, STC]}).json()
    with _signed_in(groups_app, "ngocvt.vpdn") as other:
        theirs = other.post("/api/v1/recipient-groups", json={"name": "Tuyên Quang", "members": [H60, SNV]}).json()
    clerk = _viewer(groups_app, "hoalt.vptq")
    assert rg.expand(g, clerk, [H60, STC], [mine["id"]]).organ_ids == [STC, SNV]
    from services.common.errors import NotFound

    with pytest.raises(NotFound):
        rg.expand(g, clerk, [], [theirs["id"]])


def test_the_group_screens_search_the_directory_add_remove_rename_and_delete(admin):
    page = admin.get("/quan-tri/nhom-noi-nhan")
    assert page.status_code == 200 and 'aria-current="page">Nhóm nơi nhận' in page.text
    csrf = csrf_of(page.text)
    made = admin.post("/quan-tri/nhom-noi-nhan", data={"csrf_token": csrf, "name": "UBND các huyện"},
                      follow_redirects=False)
    assert made.status_code == 303
    base = made.headers["location"].split("?")[0]
    # by name without the marks, then by identifier
    found = admin.get(base, params={"q": "uy ban nhan dan huyen"}).text
    assert "Ủy ban nhân dân huyện Na Hang" in found and "1 kết quả" in found
    by_code = admin.get(base, params={"q": "000.00.09"}).text
    assert "Sở Nội vụ tỉnh Tuyên Quang" in by_code
    itself = admin.get(base, params={"q": H60}).text
    assert re.search(r'value="000\.00\.00\.H60"[^>]*disabled', itself) and "Chính cơ quan mình" in itself
    added = admin.post(f"{base}/them", data={"csrf_token": csrf, "add": [HUYEN, SNV]}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"].endswith("tb=da-them-noi-nhan")
    shown = admin.get(base).text
    assert "Nơi nhận trong nhóm (2)" in shown and "Đã thêm nơi nhận vào nhóm." not in shown
    assert admin.post(f"{base}/bo", data={"csrf_token": csrf, "remove": [SNV]}).status_code == 200
    assert "Nơi nhận trong nhóm (1)" in admin.get(base).text
    assert admin.post(f"{base}/ten", data={"csrf_token": csrf, "name": "UBND huyện, thành phố"}).status_code == 200
    listed = admin.get("/quan-tri/nhom-noi-nhan").text
    assert "UBND huyện, thành phố" in listed and "Thay đổi gần đây" in listed
    refused = admin.post(f"{base}/ten", data={"csrf_token": csrf, "name": "   "})
    assert refused.status_code == 422 and "không được để trống" in refused.text
    assert admin.post(f"{base}/xoa", data={"csrf_token": csrf}).status_code == 200
    assert "Chưa có nhóm nơi nhận nào." in admin.get("/quan-tri/nhom-noi-nhan").text


def test_the_skipped_warning_of_the_document_page_names_only_agency_identifiers(groups_app):
    """The page after a send reads the skipped members from its address (`khong-gui=`): a link made by anyone must
    not put their own words in the warning of a trusted page, only agencies named by an identifier."""
    g = groups_app.state.gateway
    made_up = "Gọi ngay 0912 345 678 để nhận lại văn bản"
    shown = rg.skipped_from_query(g, f"{made_up},{SNV},000.00.77.H60")
    assert made_up not in shown
    assert "Sở Nội vụ tỉnh Tuyên Quang" in shown and "000.00.77.H60" in shown  # one that left the directory too
    assert rg.skipped_from_query(g, made_up) == ""


def test_the_same_name_created_at_once_on_postgresql_is_one_group_and_a_clear_refusal(pg_url, tmp_path):
    """The form sent twice at once (a double click) reaches two gateway workers: one group is made, the other request
    is told the name is taken (409), not a server error."""
    from services.common.errors import Conflict

    app = create_app(GatewaySettings(data_dir=tmp_path, agencies_file=None, database_url=pg_url))
    g = app.state.gateway
    try:
        g.directory().import_records(DIRECTORY)
        g.accounts.create_user(username="manhhd.vptq", full_name="Hoàng Đức Mạnh", agency_id=H60, roles=["admin"],
                               password=PASSWORD, unit="vp", must_change_password=False)
        admin = _viewer(app, "manhhd.vptq")
        start = threading.Barrier(6)
        outcomes: list[str] = []

        def create() -> None:
            start.wait()
            try:
                rg.create(g, admin, "Các sở, ban, ngành", [SNV])
                outcomes.append("made")
            except Conflict as exc:
                outcomes.append(exc.code)
            except Exception as exc:  # the failure this test looks for
                outcomes.append(type(exc).__name__)

        threads = [threading.Thread(target=create) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["group_name_taken"] * 5 + ["made"], outcomes
        assert [gr.name for gr in rg.groups(g, H60)] == ["Các sở, ban, ngành"]
    finally:
        g.db.dispose()


@pytest.mark.parametrize("way", ["screen", "api"])
def test_members_added_and_removed_at_once_on_postgresql_are_all_kept_as_the_log_says(pg_url, tmp_path, way):
    """Two administrators change one group at the same moment (two gateway workers): every addition and removal is
    applied to the members the others left, none lost while the admin log records it."""
    with _two_admins(pg_url, tmp_path) as (app, g):
        group = rg.create(g, _viewer(app, "manhhd.vptq"), "Các cơ quan nhận báo cáo", [SNV])
        changes = [("add", STC), ("add", HUYEN), ("add", H17), ("add", G22), ("remove", SNV)]
        answers: list[int] = []

        def change(client: TestClient, what: str, organ_id: str) -> None:
            if way == "api":
                r = client.post(f"/api/v1/recipient-groups/{group.id}/members", json={what: [organ_id]})
            else:
                path = f"/quan-tri/nhom-noi-nhan/{group.id}/{'them' if what == 'add' else 'bo'}"
                r = client.post(path, data={"csrf_token": client.headers["x-csrf-token"], what: [organ_id]},
                                follow_redirects=False)
            answers.append(r.status_code)

        _at_once(app, change, changes)
        assert answers == [200 if way == "api" else 303] * len(changes), answers
        kept = rg.groups(g, H60)[0].members
        assert sorted(kept) == sorted([STC, HUYEN, H17, G22]), kept
        logged = [e.details for e in g.accounts.admin_events(H60, limit=50)
                  if e.action == "recipient_group" and e.details.get("change") == "changed"]
        assert sorted(o for d in logged for o in d.get("added") or []) == sorted([STC, HUYEN, H17, G22])
        assert [o for d in logged for o in d.get("removed") or []] == [SNV]


def test_a_group_deleted_while_another_admin_adds_to_it_is_logged_with_the_members_it_had(pg_url, tmp_path):
    """A deletion takes the group's lock as a change does: an addition lands before it (and the deletion's log
    names it among the members the group had) or finds the group gone (404); of two deletions, one is done."""
    with _two_admins(pg_url, tmp_path) as (app, g):
        group = rg.create(g, _viewer(app, "manhhd.vptq"), "Các cơ quan sắp bỏ", [SNV])
        answers: dict[str, list[tuple[str, int]]] = {"add": [], "delete": []}
        path = f"/api/v1/recipient-groups/{group.id}"

        def act(client: TestClient, what: str, organ_id: str) -> None:
            r = client.delete(path) if what == "delete" else client.post(f"{path}/members", json={"add": [organ_id]})
            answers[what].append((organ_id, r.status_code))

        _at_once(app, act, [("add", STC), ("delete", ""), ("add", HUYEN), ("delete", ""), ("add", H17)])
        assert sorted(code for _o, code in answers["delete"]) == [204, 404], answers
        assert {code for _o, code in answers["add"]} <= {200, 404}, answers
        assert rg.groups(g, H60) == []
        logged = [e.details for e in reversed(g.accounts.admin_events(H60, limit=50, action="recipient_group"))]
        [deleted] = [d for d in logged if d["change"] == "deleted"]
        added = sorted(o for o, code in answers["add"] if code == 200)
        assert sorted(deleted["removed"]) == sorted([SNV, *added])  # what it had when it went
        assert logged[-1] is deleted  # nothing logged after it
        assert sorted(o for d in logged if d["change"] == "changed" for o in d["added"]) == added
