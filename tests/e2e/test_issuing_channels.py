"""Issuing right (issue 18 item 7), in Chromium and over REST, on the demo deployment: the clerk of UBND tỉnh Tuyên
Quang issues a legal-normative decision (văn bản quy phạm pháp luật): its number carries the year and comes from
the decisions' own register (09/2026/QĐ-UBND); besides Sở Nội vụ, reached over the interconnect, it goes on paper to
a company and internally to a unit; the number of copies (số lượng bản) is typed at issue. The document page names
each recipient's channel, the printed list of recipients has them all, and the outgoing register shows the paper
and internal recipients in column 5 and the copies in column 7. The same over POST /api/v1/outgoing/{id}/issue."""

from __future__ import annotations

import re
import subprocess
import uuid

import pytest
from playwright.sync_api import expect

from services.common.clock import now_utc, vn_date
from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import (
    browser_signed_in,
    csrf_of,
    pick,
    signed_in,
    vietnamese_pdf,
    wait_for,
)
from tests.e2e.test_register_unit_and_audit import waiting_issue_id
from tests.gateway.test_api import csrf_token_of
from tests.gateway.test_copies_api import open_copies_register, send_with_appendices
from tests.gateway.test_drafting import post, prepare_agency_for_drafts

pytestmark = pytest.mark.browser
H60, SNV = "000.00.00.H60", "000.00.09.H60"
SPECIALIST, HEAD, LEADER, CLERK, ADMIN = "trangdt.thtq", "tuanpm.thtq", "annv.vptq", "hoalt.vptq", "manhhd.vptq"
SNV_CLERK = "lanvt.snv"
COMPANY = "Công ty TNHH Minh Phát"
UNIT_CODE, UNIT_NAME = "thtq", "Phòng Tổng hợp"


def signed_decision(people: dict, title: str) -> str:
    """A decision (QĐ) drafted, approved and signed through the screens; its id in "chờ ban hành"."""
    specialist = people[SPECIALIST]
    form = specialist.get("/du-thao/moi")
    made = specialist.post("/du-thao/moi", data={"csrf_token": csrf_of(form.text), "title": title, "type_code": "QĐ",
                                                 "priority": "0", "note": ""},
                           files={"file": ("Quyết định.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", title),
                                           "application/pdf")})
    assert made.status_code == 303, made.text[:2000]
    draft_id = int(re.search(r"/du-thao/(\d+)", made.headers["location"]).group(1))
    assert post(specialist, draft_id, "trinh").status_code == 303
    assert post(people[HEAD], draft_id, "duyet", comment="Đồng ý").status_code == 303
    signed = post(people[LEADER], draft_id, "duyet", comment="Ký ban hành")
    assert signed.status_code == 303 and "da-ky" in signed.headers["location"], signed.text[:1500]
    return wait_for(lambda: waiting_issue_id(people[CLERK], title), 120, "the signed decision in 'chờ ban hành'")


def test_a_legal_normative_decision_issued_to_electronic_paper_and_internal_recipients(deployment, browser,
                                                                                          artifacts_dir):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    year = vn_date(now_utc()).year
    people = {u: signed_in(base, u, demo_password(deployment, u)) for u in (SPECIALIST, HEAD, LEADER, CLERK, ADMIN)}
    try:
        admin = people[ADMIN]
        units = admin.get("/quan-tri/don-vi")
        assert admin.post("/quan-tri/don-vi", data={"csrf_token": csrf_of(units.text), "code": UNIT_CODE,
                                                    "name": UNIT_NAME}).status_code == 303
        # the decisions' legal-normative register (its own series); another test run may have opened it already
        opened = admin.post("/api/v1/registers", headers={"x-csrf-token": csrf_token_of(admin)},
                            json={"direction": "outgoing", "year": year, "scope": "QPPL-QĐ"})
        assert opened.status_code in (201, 409), opened.text
        legal = next(r for r in admin.get("/api/v1/registers").json() if r["scope"] == "QPPL-QĐ"
                     and r["year"] == year)
        assert legal["name"] == f"Sổ văn bản quy phạm pháp luật (Quyết định) năm {year}"
        expected = legal["next_number"]

        tag = uuid.uuid4().hex[:6]
        title = f"Quyết định ban hành quy chế văn thư (mã {tag})"
        doc_id = signed_decision(people, title)

        page = browser_signed_in(browser, base, CLERK, demo_password(deployment, CLERK))
        page.goto(f"{base}/van-ban-di/{doc_id}/ban-hanh")
        expect(page.get_by_role("heading", name="Cấp số và ban hành văn bản")).to_be_visible()
        pick(page, "Gửi điện tử qua trục liên thông", "Sở Nội vụ tỉnh Tuyên Quang")
        page.get_by_label("Gửi bản giấy").fill(COMPANY)
        pick(page, "Gửi nội bộ", UNIT_NAME)
        page.get_by_label("Số lượng bản phát hành").fill("7")
        page.get_by_role("checkbox", name="Văn bản quy phạm pháp luật").check()
        page.screenshot(path=str(artifacts_dir / "guide-40-ban-hanh-noi-nhan.png"), full_page=True)
        page.get_by_role("button", name="Cấp số, đóng dấu và ban hành").click()
        number = f"{expected:02d}/{year}/QĐ-UBND"
        expect(page.get_by_role("heading", level=1)).to_contain_text(number, timeout=120_000)
        table = page.locator("section", has=page.get_by_role("heading", name="Trạng thái tại nơi nhận"))
        for name, channel in ((COMPANY, "Bản giấy"), (UNIT_NAME, "Nội bộ")):
            expect(table.get_by_role("row", name=re.compile(f"{name}.*{channel}"))).to_be_visible()
        expect(table.get_by_text("Số lượng bản: 7")).to_be_visible()
        page.get_by_role("link", name="In danh sách nơi nhận").click()
        listed = page.locator("#danh-sach-noi-nhan")
        expect(listed).to_contain_text(number)
        for name in ("Sở Nội vụ tỉnh Tuyên Quang", COMPANY, UNIT_NAME):
            expect(listed).to_contain_text(name)
        expect(listed).to_contain_text("Số lượng bản phát hành: 7")
        shot = artifacts_dir / "guide-41-danh-sach-noi-nhan.png"
        page.screenshot(path=str(shot), full_page=True)
        screenshots.publish([artifacts_dir / "guide-40-ban-hanh-noi-nhan.png", shot])

        clerk = people[CLERK]
        doc = clerk.get(f"/api/v1/outgoing/{doc_id}").json()
        assert doc["code_notation"] == f"{year}/QĐ-UBND" and doc["issued_amount"] == 7
        # the sealed PDF carries the number with the year in its "Số:" line
        signed = next(a for a in doc["attachments"] if a["role"] == "signed")
        text = subprocess.run(["pdftotext", "-", "-"], input=clerk.get(f"/tep/{doc_id}/{signed['sha256']}").content,
                              capture_output=True, check=True).stdout.decode()
        assert f"Số: {number}" in " ".join(text.split()), text[:500]
        assert {(r["organ_name"], r["channel"]) for r in doc["recipients"]} == {
            ("Sở Nội vụ tỉnh Tuyên Quang", "interconnect"), (COMPANY, "paper"), (UNIT_NAME, "internal")}

        # At Sở Nội vụ the decision waits for reception with its clock: the agency's limit in working hours from
        # its arrival (issue 18 item 8), on the list and over REST
        receiver = signed_in(base, SNV_CLERK, demo_password(deployment, SNV_CLERK))
        people[SNV_CLERK] = receiver

        def arrived() -> dict | None:
            items = receiver.get("/api/v1/incoming/waiting-reception", params={"size": 100}).json()["items"]
            return next((d for d in items if d.get("subject") == title), None)

        waiting = wait_for(arrived, 120, "the decision in Sở Nội vụ's waiting list")
        assert waiting["reception_limit_hours"] == 8 and waiting["reception_state"] in ("on_time", "due_soon")
        assert 0 < waiting["reception_minutes_left"] <= 480 and waiting["reception_due"].endswith("+07:00")
        listed_page = receiver.get("/van-ban-den/cho-tiep-nhan").text
        row = next(r for r in listed_page.split("<tr") if title in r)
        assert "Hạn vào sổ (từ khi đến)" in listed_page and "làm việc" in row and "hạn " in row
        assert "Hạn vào sổ (từ khi đến)" in receiver.get("/").text          # the clerk's home page too
        waiting_page = browser_signed_in(browser, base, SNV_CLERK, demo_password(deployment, SNV_CLERK))
        waiting_page.goto(f"{base}/van-ban-den/cho-tiep-nhan")
        expect(waiting_page.get_by_role("row", name=re.compile(re.escape(title)))).to_contain_text("làm việc")
        clock_shot = artifacts_dir / "guide-44-cho-tiep-nhan-han-vao-so.png"
        waiting_page.screenshot(path=str(clock_shot), full_page=True)
        screenshots.publish([clock_shot])

        # REST: the next decision, legal-normative, takes the next number of the same series
        second = signed_decision(people, f"Quyết định sửa đổi quy chế văn thư (mã {tag})")
        issued = clerk.post(f"/api/v1/outgoing/{second}/issue", headers={"x-csrf-token": csrf_token_of(clerk)},
                            json={"recipients": [], "paper_recipients": [COMPANY], "issued_amount": 3,
                                  "legal_normative": True})
        assert issued.status_code == 200, issued.text
        body = issued.json()
        assert (body["code_number"], body["code_notation"]) == (f"{expected + 1:02d}", f"{year}/QĐ-UBND")
        assert [(r["organ_name"], r["channel"]) for r in body["recipients"]] == [(COMPANY, "paper")]
        nobody = clerk.post(f"/api/v1/outgoing/{second}/issue", headers={"x-csrf-token": csrf_token_of(clerk)},
                            json={"recipients": []})
        assert nobody.status_code in (409, 422)

        # the outgoing register: column 5 names the channels, column 7 the copies
        today = vn_date(now_utc()).isoformat()
        screen = clerk.get("/in-so", params={"so": "di", "tu": today, "den": today}).text
        row = next((r for r in screen.split("<tr") if title in r), "")
        assert f"{COMPANY} (bản giấy)" in row and f"{UNIT_NAME} (nội bộ)" in row, row[:2000]
        assert '<td data-label="Số lượng bản">7</td>' in row, row[:2000]
    finally:
        for client in people.values():
            client.close()


def test_the_clerk_makes_a_sao_y_and_a_trich_sao_with_their_own_numbers(deployment, browser, artifacts_dir):
    """Sao y (NĐ 30 Điều 25–27) of an issued document with an appendix, in Chromium: own register, own number and
    notation (01/SY-UBND …), the copy PDF with the copy form and the appendix copied with it, each sealed by the
    agency (legally valid); trích sao over REST."""
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    year = vn_date(now_utc()).year
    clerk, admin = (signed_in(base, u, demo_password(deployment, u)) for u in (CLERK, ADMIN))
    try:
        open_copies_register(admin)
        copies = next(r for r in clerk.get("/api/v1/registers", params={"direction": "copies"}).json()
                      if r["year"] == year and r["scope"] == "all")
        expected = copies["next_number"]
        subject = f"Về việc sao văn bản (mã {uuid.uuid4().hex[:6]})"
        sent = send_with_appendices(deployment, clerk, H60, "ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", subject, 1, SNV)
        source, number, (appendix,) = sent["id"], sent["number"], sent["appendices"]

        page = browser_signed_in(browser, base, CLERK, demo_password(deployment, CLERK))
        page.goto(f"{base}/van-ban/{source}")
        page.get_by_role("link", name="Sao văn bản (sao y, sao lục, trích sao)").click()
        expect(page.get_by_role("heading", name="Sao văn bản", exact=True)).to_be_visible()
        expect(page.locator("#phu-luc-duoc-sao")).to_contain_text(appendix)
        page.get_by_label("Hình thức sao").select_option("SY")
        shot = artifacts_dir / "guide-42-sao-van-ban.png"
        page.screenshot(path=str(shot), full_page=True)
        page.get_by_role("button", name="Cấp số, đóng dấu bản sao").click()
        copy_number = f"{expected:02d}/SY-UBND"
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Bản sao: {copy_number}", timeout=120_000)
        expect(page.locator("#van-ban-lien-quan")).to_contain_text(f"Bản sao của văn bản {number}/UBND-VP")
        # The page asks signing for the verdict as it renders; a signing busy with the other tests answers late,
        # and the page then shows no verdict: a clerk reloads.
        main_ok = page.locator("tr", has_text=f"{expected:02d}-SY-UBND.pdf").get_by_text("Hợp lệ", exact=True)
        appendix_row = page.locator("tr", has_text=appendix)
        appendix_ok = appendix_row.get_by_text("Hợp lệ", exact=True)
        for _ in range(12):
            if main_ok.count() and appendix_ok.count():
                break
            page.wait_for_timeout(5_000)
            page.reload()
        # both files of the copy, main first, each with its own verdict
        expect(main_ok).to_be_visible()
        expect(appendix_ok).to_be_visible()
        expect(appendix_row).to_contain_text("Phụ lục (đã ký số cơ quan)")
        copy_shot = artifacts_dir / "guide-43-ban-sao.png"
        page.screenshot(path=str(copy_shot), full_page=True)
        copy_id = page.url.split("/van-ban/")[1].split("?")[0]
        listed = clerk.get("/api/v1/copies", params={"size": 100}).json()["items"]
        assert copy_id in [d["id"] for d in listed]
        detail = clerk.get(f"/api/v1/copies/{copy_id}").json()
        assert detail["code_notation"] == "SY-UBND" and detail["direction"] == "copies"
        sha = next(a["sha256"] for a in detail["attachments"] if a["role"] == "signed")
        pdf = clerk.get(f"/tep/{copy_id}/{sha}").content
        text = " ".join(subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                                       check=True).stdout.decode().split())
        assert "SAO Y" in text and f"Số: {copy_number}" in text, text[:400]
        assert [a["name"] for a in detail["attachments"]] == [f"{expected:02d}-SY-UBND.pdf", appendix]
        assert all(a["signature_label"] == "Hợp lệ" for a in detail["attachments"]), detail["attachments"]
        page.goto(f"{base}/van-ban-sao")
        expect(page.get_by_role("heading", name="Sổ bản sao")).to_be_visible()
        expect(page.get_by_role("link", name=copy_number)).to_be_visible()
        screenshots.publish([shot, copy_shot])

        # REST: trích sao of the same document, the extract uploaded; the next number of the same series
        extract = ("trich.pdf", vietnamese_pdf("TRÍCH SAO", subject), "application/pdf")
        made = clerk.post(f"/api/v1/documents/{source}/copies", headers={"x-csrf-token": csrf_token_of(clerk)},
                          data={"form": "TrS"}, files={"file": extract})
        assert made.status_code == 201, made.text
        assert (made.json()["code_number"], made.json()["code_notation"]) == (f"{expected + 1:02d}", "TrS-UBND")
        refused = clerk.post(f"/api/v1/documents/{source}/copies", headers={"x-csrf-token": csrf_token_of(clerk)},
                             data={"form": "TrS"})
        assert refused.status_code == 422 and "phần được trích" in refused.text
    finally:
        clerk.close()
        admin.close()

