"""The file plan, a dossier's own items and the agency archive over the REST API, as on the screens "Hồ sơ" and
"Lưu trữ" (NĐ 30 Điều 28–31), against the demo deployment: the clerk drafts the year's plan and the leader approves
it; a specialist puts two files into a dossier and reorders them, closes and submits it; the clerk gives it back
with a reason, then accepts it; its export is served. Wrong roles and another agency's people are refused."""

from __future__ import annotations

import secrets
from contextlib import closing

import pytest

from tests.e2e.helpers import vietnamese_pdf
from tests.gateway.test_api import token_for
from tests.gateway.test_api_writes import CLERK, LEADER, SPECIALIST, key, ok, refused

OTHER_AGENCY_CLERK = "namtv.vpdn"  # Trần Văn Nam, Đà Nẵng


@pytest.fixture(scope="module")
def people(deployment):
    with closing(token_for(deployment, CLERK)) as clerk, closing(token_for(deployment, LEADER)) as leader, \
            closing(token_for(deployment, SPECIALIST)) as specialist, \
            closing(token_for(deployment, OTHER_AGENCY_CLERK)) as other:
        yield clerk, leader, specialist, other


def test_the_year_s_file_plan_drafted_by_the_clerk_and_approved_by_the_leader(people):
    clerk, leader, specialist, other = people
    year = 2050 + secrets.randbelow(49)  # a year no other test plans
    plan = {"year": year, "headings": [{"code": "I", "title": "Tổng hợp", "abbreviation": "TH"}],
            "items": [{"heading": "I", "file_notation": "01.TH", "title": "Hồ sơ hội nghị tổng kết năm",
                       "retention": "10 năm", "creator": "Văn phòng", "note": ""}]}
    refused(specialist.post("/api/v1/file-plans", json=plan, headers=key()), 403)
    made = ok(clerk.post("/api/v1/file-plans", json=plan, headers=key()), 201)
    assert clerk.get("/api/v1/file-plans", params={"year": year}).json()["id"] == made["id"]
    assert other.get("/api/v1/file-plans", params={"year": year}).json() is None   # the plan is this agency's
    refused(clerk.post(f"/api/v1/file-plans/{made['id']}/approve", json={"approval_doc": "QĐ 01"}, headers=key()),
            403)
    refused(other.post(f"/api/v1/file-plans/{made['id']}/approve", json={}, headers=key()), 403)
    approved = ok(leader.post(f"/api/v1/file-plans/{made['id']}/approve",
                              json={"approval_doc": f"Quyết định số 01/QĐ-UBND năm {year}"}, headers=key()))
    assert approved["id"] == made["id"] and approved != made


def test_a_dossier_s_own_files_reordered_closed_given_back_accepted_and_exported(people):
    clerk, _leader, specialist, other = people
    dossier = ok(specialist.post("/api/v1/dossiers", json={
        "title": f"Hồ sơ tài liệu hội thảo ({secrets.token_hex(3)})", "file_notation": "09.TH",
        "retention": "5 năm"}, headers=key()), 201)
    url = f"/api/v1/dossiers/{dossier['id']}"

    def upload(client, title: str, kind: str = "note"):
        return client.post(f"{url}/items", data={"kind": kind, "title": title, "pages": "1"},
                           files={"file": (f"{title}.pdf", vietnamese_pdf("GHI CHÉP", title), "application/pdf")})

    refused(upload(specialist, "Sai loại", kind="document"), 422)       # a registry document is added by its id
    refused(upload(other, "Cơ quan khác"), 404)
    ok(upload(specialist, "Ghi chép buổi sáng"), 201)
    items = ok(upload(specialist, "Ghi chép buổi chiều"), 201)["items"]
    assert [i["title"] for i in items] == ["Ghi chép buổi sáng", "Ghi chép buổi chiều"]
    afternoon = items[1]["id"]
    moved = ok(specialist.post(f"{url}/items/{afternoon}/move", json={"ordinal": 1}, headers=key()))
    assert [i["title"] for i in moved["items"]] == ["Ghi chép buổi chiều", "Ghi chép buổi sáng"]

    ok(specialist.post(f"{url}/close", json={}, headers=key()))
    exported = specialist.get(f"{url}/export/hoso.pdf")
    assert exported.status_code == 200 and exported.content.startswith(b"%PDF"), exported.text[:300]
    assert exported.headers["content-type"] == "application/pdf"
    refused(specialist.get(f"{url}/export/khac.pdf"), 422)
    ok(specialist.post(f"{url}/submit", headers=key()))

    waiting = ok(clerk.get("/api/v1/archive"))["submitted"]
    assert dossier["id"] in [d["id"] for d in waiting]
    assert dossier["id"] not in [d["id"] for d in ok(other.get("/api/v1/archive"))["submitted"]]
    refused(specialist.post(f"/api/v1/archive/{dossier['id']}/accept", headers=key()), 403)
    refused(clerk.post(f"/api/v1/archive/{dossier['id']}/give-back", json={"reason": ""}, headers=key()), 422)
    given_back = ok(clerk.post(f"/api/v1/archive/{dossier['id']}/give-back",
                               json={"reason": "Thiếu biên bản hội thảo"}, headers=key()))
    assert given_back["state"] == "open"      # back with its keeper, to complete and close again
    ok(specialist.post(f"{url}/close", json={}, headers=key()))
    ok(specialist.post(f"{url}/submit", headers=key()))
    accepted = ok(clerk.post(f"/api/v1/archive/{dossier['id']}/accept", headers=key()))
    assert accepted["state"] == "archived"
    assert dossier["id"] in [d["id"] for d in ok(clerk.get("/api/v1/archive"))["archived"]]
