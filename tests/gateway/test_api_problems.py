"""The REST API of problem reports (issue 18 item 10) against the real deployment: anyone reports a fault with a
screenshot, sees their own report; the agency's administrator sees it, records the handling and prints both forms;
other people of the agency and another agency's administrator do not reach it."""

from __future__ import annotations

import io
import secrets

import pytest
from PIL import Image

from tests.gateway.test_api import token_for
from tests.gateway.test_api_writes import key, ok, refused

H60_ADMIN, H17_ADMIN, H60_SPECIALIST, H60_HEAD = "manhhd.vptq", "ngocvt.vpdn", "trangdt.thtq", "tuanpm.thtq"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, secrets.randbelow(256), 40)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def people(deployment):
    clients = [token_for(deployment, u) for u in (H60_SPECIALIST, H60_HEAD, H60_ADMIN, H17_ADMIN)]
    yield clients
    for c in clients:
        c.close()


def test_a_fault_reported_handled_and_printed_within_the_agency(people):
    reporter, colleague, admin, other_admin = people
    text = f"Không mở được tệp đính kèm {secrets.token_hex(3)}"
    form = {"role": "specialist", "function": "incoming", "description": text, "occurred_at": "2026-12-01T09:30",
            "page_url": "/van-ban-den"}
    shot = png()
    refused(reporter.post("/api/v1/problem-reports", data={**form, "role": "vua"}), 422)
    refused(reporter.post("/api/v1/problem-reports", data=form, files={"screenshot": ("anh.txt", b"x", "text/plain")}),
            422)
    once = key()
    made = ok(reporter.post("/api/v1/problem-reports", data=form, files={"screenshot": ("anh.png", shot, "image/png")},
                            headers=once), 201)
    again = reporter.post("/api/v1/problem-reports", data=form, files={"screenshot": ("anh.png", shot, "image/png")},
                          headers=once)
    assert ok(again, 201) == made and again.headers["idempotency-replayed"] == "true"
    assert made["number"].endswith("/BBGNL-QLVBĐH") and made["state"] == "open" and made["screenshot"]
    assert made["description"] == text and made["occurred_at"].startswith("2026-12-01T09:30:00+07:00")
    report = made["id"]
    assert [r["id"] for r in ok(reporter.get("/api/v1/problem-reports"))].count(report) == 1
    assert report in [r["id"] for r in ok(admin.get("/api/v1/problem-reports"))]
    assert report not in [r["id"] for r in ok(colleague.get("/api/v1/problem-reports"))]

    # Nobody else of the agency, nobody of another agency
    for outsider in (colleague, other_admin):
        refused(outsider.get(f"/api/v1/problem-reports/{report}"), 404)
        refused(outsider.get(f"/api/v1/problem-reports/{report}/screenshot"), 404)
        refused(outsider.get(f"/api/v1/problem-reports/{report}/forms/1"), 404)
    handling = {"cause": "Kho tệp đầy", "solution": "Mở rộng kho tệp", "result": "done"}
    refused(reporter.post(f"/api/v1/problem-reports/{report}/handling", json=handling), 403)
    refused(other_admin.post(f"/api/v1/problem-reports/{report}/handling", json=handling), 404)

    picture = reporter.get(f"/api/v1/problem-reports/{report}/screenshot")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png" and picture.content == shot
    first = admin.get(f"/api/v1/problem-reports/{report}/forms/1")
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    assert first.content.startswith(b"%PDF")
    assert refused(admin.get(f"/api/v1/problem-reports/{report}/forms/2"), 422)["code"] == "not_handled"
    refused(admin.get(f"/api/v1/problem-reports/{report}/forms/3"), 422)

    refused(admin.post(f"/api/v1/problem-reports/{report}/handling", json={**handling, "result": "not_done"}), 422)
    handled = ok(admin.post(f"/api/v1/problem-reports/{report}/handling", json=handling, headers=key()))
    assert handled["state"] == "done" and handled["cause"] == "Kho tệp đầy" and handled["handled_at"]
    assert ok(reporter.get(f"/api/v1/problem-reports/{report}"))["state_label"] == "Hoàn thành"
    second = reporter.get(f"/api/v1/problem-reports/{report}/forms/2")
    assert second.status_code == 200 and second.content.startswith(b"%PDF")
