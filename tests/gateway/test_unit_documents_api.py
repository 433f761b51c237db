"""A document issued to one of the agency's own units, over REST on the demo deployment: UBND tỉnh Tuyên Quang's
clerk issues a signed draft to its Phòng Tổng hợp ("Gửi nội bộ", POST /api/v1/outgoing/{id}/issue with
internal_units); the unit's people find it in GET /api/v1/unit-documents and in their reminders, and read it; another
unit's list does not have it, another agency cannot read it; an update of its trích yếu reaches the unit's people once
(services/routing/unit_documents.py). Sent to a unit "together with its subordinate units"
(internal_units_with_subunits), the document reaches a person two levels below it the same way."""

from __future__ import annotations

import secrets
import string
from contextlib import closing
from dataclasses import dataclass
from itertools import count

import httpx

from tests.e2e.helpers import wait_for
from tests.gateway.test_api import token_for
from tests.gateway.test_api_account import H60_ADMIN, newcomer
from tests.gateway.test_api_admin import own_token
from tests.gateway.test_api_writes import ok
from tests.gateway.test_outgoing_paper_returns_api import HEAD, OTHER_CLERK, SPECIALIST, waiting_for_issue

UNIT, UNIT_NAME = "thtq", "Phòng Tổng hợp"
PATIENCE = 120


def unit_row(client, outgoing_id: str, **expected) -> dict | None:
    """The document's row in the caller's GET /api/v1/unit-documents, once it has the `expected` values."""
    found = client.get("/api/v1/unit-documents", params={"size": 100})
    assert found.status_code == 200, found.text
    row = next((d for d in found.json()["items"] if d["outgoing_id"] == outgoing_id), None)
    return row if row and all(row.get(k) == v for k, v in expected.items()) else None


def reminders_about(client, outgoing_id: str) -> list[str]:
    return [n["title"] for n in client.get("/api/v1/reminders").json()
            if n["ref_kind"] == "outgoing" and n["ref_id"] == outgoing_id]


def test_a_document_issued_to_a_unit_reaches_its_people_and_its_update_too(deployment):
    title = f"V/v tổng hợp báo cáo tháng gửi Phòng Tổng hợp ({secrets.token_hex(3)})"
    member, head = token_for(deployment, SPECIALIST), token_for(deployment, HEAD)
    other = token_for(deployment, OTHER_CLERK)
    for person in (member, head):   # a first call to routing puts the person in its staff directory
        assert person.get("/api/v1/reminders").status_code == 200
    clerk, waiting = waiting_for_issue(deployment, title)
    with closing(member), closing(head), closing(other), closing(clerk):
        refused = clerk.post(f"/api/v1/outgoing/{waiting['id']}/issue", json={"internal_units": ["khongco"]})
        assert refused.status_code == 422 and "Không có đơn vị mã khongco" in refused.json()["title"], refused.text
        issued = clerk.post(f"/api/v1/outgoing/{waiting['id']}/issue", json={"internal_units": [UNIT]})
        assert issued.status_code == 200, issued.text
        doc = issued.json()
        number = doc["number_and_notation"]
        assert [(r["organ_name"], r["channel"]) for r in doc["recipients"]] == [(UNIT_NAME, "internal")]

        row = wait_for(lambda: unit_row(member, doc["id"]), PATIENCE, "the document in the unit's list")
        assert (row["number"], row["subject"], row["state"], row["state_label"], row["change"]) == (
            number, title, "issued", "Đã ban hành", None)
        assert row["issued_at"].endswith("+07:00")
        listed = member.get("/api/v1/unit-documents", params={"size": 1}).json()
        assert (listed["unit"], listed["unit_name"], listed["size"]) == (UNIT.upper(), UNIT_NAME, 1)
        assert reminders_about(head, doc["id"]) == [f"Văn bản ban hành gửi đơn vị: số {number} — {title}"]
        # the member drafted it: told of the issue once, by the draft's own notice
        assert reminders_about(member, doc["id"]) == []
        assert [n["title"] for n in member.get("/api/v1/reminders").json()
                if n["kind"] == "issued" and title in n["title"]] == [
            f"Văn bản đã được ban hành: số {number} — {title}"]
        assert member.get(f"/api/v1/outgoing/{doc['id']}").json()["subject"] == title   # they read it
        assert unit_row(clerk, doc["id"]) is None                       # the clerk's unit (vptq) was not sent it
        assert other.get(f"/api/v1/outgoing/{doc['id']}").status_code == 404   # nor is another agency's to read
        assert member.get("/api/v1/unit-documents", params={"size": 101}).status_code == 422

        new_subject = f"{title} (sửa đổi)"
        updated = clerk.post(f"/api/v1/outgoing/{doc['id']}/changes",
                             json={"kind": "update", "reason": "Sửa trích yếu", "subject": new_subject})
        assert updated.status_code == 200, updated.text
        row = wait_for(lambda: unit_row(member, doc["id"], change="update"), PATIENCE, "the update in the list")
        assert (row["subject"], row["change_label"], row["change_reason"], row["state"]) == (
            new_subject, "Đã cập nhật", "Sửa trích yếu", "issued")
        told = f"Văn bản số {number} đã được cập nhật: {new_subject}"
        wait_for(lambda: told in reminders_about(head, doc["id"]), PATIENCE, "the head told of the update")
        assert reminders_about(member, doc["id"]).count(told) == 1


@dataclass(frozen=True)
class SubunitTree:
    """Units of UBND tỉnh Tuyên Quang made for one test: a Chi cục, a phòng under it and a tổ under that, with a
    newcomer of the tổ (who has changed the temporary password to `password`) and an API client of theirs (`person`,
    for the caller to close)."""

    top: str
    middle: str
    leaf: str
    top_name: str
    username: str
    password: str
    person: httpx.Client

    @property
    def recipients(self) -> list[tuple[str, str]]:
        """The document's internal recipients once issued to `top` with its subunits: (name, channel)."""
        return [(self.top_name, "internal"), (f"Phòng Nghiệp vụ (thuộc {self.top_name})", "internal"),
                ("Tổ Lưu trữ (thuộc Phòng Nghiệp vụ)", "internal")]


def subunit_tree(deployment) -> SubunitTree:
    stem = "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))
    top, middle, leaf = f"{stem}cc", f"{stem}nv", f"{stem}lt"
    with closing(token_for(deployment, H60_ADMIN)) as admin:
        # the Chi cục is picked by its name on the issue form of a deployment other tests share, so its name is the
        # agency's only one: numbered by region as such offices are ("Chi cục Thủy lợi khu vực 1"), the guide's
        # screenshots readable
        taken = {u["name"] for u in ok(admin.get("/api/v1/units"))}
        top_name = next(name for n in count(1) if (name := f"Chi cục Thủy lợi khu vực {n}") not in taken)
        ok(admin.post("/api/v1/units", json={"code": top, "name": top_name}), 201)
        ok(admin.post("/api/v1/units", json={"code": middle, "name": "Phòng Nghiệp vụ", "parent_code": top}), 201)
        ok(admin.post("/api/v1/units", json={"code": leaf, "name": "Tổ Lưu trữ", "parent_code": middle}), 201)
    username, temporary = newcomer(deployment, unit=leaf)
    password = f"Moi-{secrets.token_hex(5)}-Tq"
    person = own_token(deployment, username, temporary, password)
    # a first call to routing puts the person in its staff directory
    assert person.get("/api/v1/reminders").status_code == 200
    return SubunitTree(top, middle, leaf, top_name, username, password, person)


def test_a_unit_with_its_subunits_reaches_a_person_two_levels_below_it(deployment):
    tree = subunit_tree(deployment)
    title = f"V/v kiểm tra công tác lưu trữ của Chi cục và các đơn vị trực thuộc ({secrets.token_hex(3)})"
    person = tree.person
    clerk, waiting = waiting_for_issue(deployment, title)
    with closing(person), closing(clerk):
        issue = f"/api/v1/outgoing/{waiting['id']}/issue"
        body = {"internal_units": [tree.top], "internal_units_with_subunits": True}
        # Đà Nẵng's Phòng Tổng hợp is no unit of Tuyên Quang's, subunits or not; nothing is issued
        refused = clerk.post(issue, json={**body, "internal_units": [tree.top, "thdn"]})
        assert refused.status_code == 422 and refused.json()["title"] == "Không có đơn vị mã thdn trong cơ quan.", \
            refused.text
        once = {"Idempotency-Key": f"don-vi-truc-thuoc-{waiting['id']}"}
        issued = clerk.post(issue, json=body, headers=once)
        assert issued.status_code == 200, issued.text
        doc = issued.json()
        number = doc["number_and_notation"]
        assert [(r["organ_name"], r["channel"]) for r in doc["recipients"]] == tree.recipients
        again = clerk.post(issue, json=body, headers=once)   # the same issue, sent again: the same document
        assert again.status_code == 200, again.text
        assert (again.json()["id"], again.json()["number_and_notation"], again.json()["recipients"]) == (
            doc["id"], number, doc["recipients"])

        row = wait_for(lambda: unit_row(person, doc["id"]), PATIENCE, "the document in the tổ's list")
        assert (row["number"], row["subject"], row["state"]) == (number, title, "issued")
        listed = person.get("/api/v1/unit-documents", params={"size": 1}).json()
        assert (listed["unit"], listed["unit_name"]) == (tree.leaf.upper(), "Tổ Lưu trữ")
        told = f"Văn bản ban hành gửi đơn vị: số {number} — {title}"
        wait_for(lambda: reminders_about(person, doc["id"]), PATIENCE, "the person of the tổ told")
        assert reminders_about(person, doc["id"]) == [told]   # once, though the issue was sent twice
