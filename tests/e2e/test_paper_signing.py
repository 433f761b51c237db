"""Approval signed on paper in Chromium on the demo deployment (issue 19 item 4; Hưng Yên Đ6.3a "Sau khi dự thảo được
lãnh đạo phê duyệt, cán bộ xử lý thực hiện chức năng Chuyển phát hành ... cần đính kèm tất cả tệp văn bản"):

the leader of UBND tỉnh Tuyên Quang has no "Duyệt, ký trên giấy" while the agency's rule is "Không"; the
administrator allows it on the rules screen; the leader approves on paper a three-page letter; the drafter uploads
with "Chuyển phát hành" the scan of a paper original printed from an earlier version, whose page 2 has a paragraph
rewritten: the upload answers at once, the page says "Đang đối chiếu bản quét…" while routing's worker reads every
page (OCR off the request path) and reloads itself, then says the scan differs at page 2 with "Trang 2: chỉ khớp
N % …" and the words that differ, and asks for the confirmation; the drafter confirms without choosing the file
again (the scan of the approved pages is forwarded by itself: tests/gateway/test_api_paper_signing.py); the clerk
sees the warning beside "Lãnh đạo ký trên giấy", issues it (number from the register, the agency's seal signed on the
scan) and the document page says it was signed on paper, who forwarded the scan and how it matched. The letter
has an appendix, signed and stamped on paper too: the drafter first chooses a broken file as its scan and is told
which file is wrong, nothing forwarded; then adds its scan ("Bản scan phụ lục giấy") beside the letter's; the clerk
sees on "Cấp số và ban hành" that the appendix is a scan of the paper appendix, standing for the approved version's
file, and the issued document carries that scan sealed. The rule is set back to "Không" afterwards (the deployment
is shared)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import browser_signed_in, csrf_of, pick, signed_in, wait_for
from tests.e2e.test_register_unit_and_audit import waiting_issue_id
from tests.gateway import scan_pages
from tests.gateway.test_api import base_url, csrf_token_of
from tests.gateway.test_drafting import post, prepare_agency_for_drafts

pytestmark = pytest.mark.browser
H60 = "000.00.00.H60"
SPECIALIST, HEAD, LEADER, CLERK, ADMIN = "trangdt.thtq", "tuanpm.thtq", "annv.vptq", "hoalt.vptq", "manhhd.vptq"


def scanned_letter(tmp_path) -> Path:
    """The three pages as printed from an earlier version (page 2's third paragraph otherwise), signed and scanned."""
    path = tmp_path / "ban-scan-da-ky.pdf"
    path.write_bytes(scan_pages.scanned(scan_pages.plan(earlier=True), seed=6))
    return path


def scanned_appendix(tmp_path) -> Path:
    """The appendix (the inventory's list) as printed, stamped and scanned."""
    path = tmp_path / "phu-luc-01-da-dong-dau.pdf"
    if not path.exists():
        path.write_bytes(scan_pages.scanned(scan_pages.inventory(), seed=4))
    return path


def test_leader_signs_on_paper_drafter_forwards_the_scan_clerk_issues(deployment, browser, artifacts_dir, tmp_path):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    base = base_url(deployment)
    tag = uuid.uuid4().hex[:6]
    title = f"V/v kiểm kê tài sản công năm 2026, lãnh đạo ký trên giấy (mã {tag})"
    http = {u: signed_in(base, u, demo_password(deployment, u)) for u in (SPECIALIST, HEAD, CLERK, ADMIN)}
    pages, shots = [], []

    def shot(page, name: str) -> None:
        shots.append(artifacts_dir / name)
        page.screenshot(path=str(shots[-1]), full_page=True)

    try:
        # drafted and approved by the department as usual: it waits at the leader's signing step
        form = http[SPECIALIST].get("/du-thao/moi")
        made = http[SPECIALIST].post("/du-thao/moi", data={"csrf_token": csrf_of(form.text), "title": title,
                                                           "type_code": "CV", "priority": "0", "note": ""},
                                     files=[("file", ("Công văn.pdf", scan_pages.plan(), "application/pdf")),
                                            ("appendices", ("Phụ lục.pdf", scan_pages.inventory(),
                                                            "application/pdf"))])
        assert made.status_code == 303, made.text[:1500]
        draft_id = int(re.search(r"/du-thao/(\d+)", made.headers["location"]).group(1))
        assert post(http[SPECIALIST], draft_id, "trinh").status_code == 303
        assert post(http[HEAD], draft_id, "duyet", comment="Đồng ý").status_code == 303

        leader = browser_signed_in(browser, base, LEADER, demo_password(deployment, LEADER))
        pages.append(leader)
        leader.goto(f"{base}/du-thao/{draft_id}")
        expect(leader.get_by_role("button", name="Duyệt và ký")).to_be_visible()
        expect(leader.get_by_role("button", name="Duyệt, ký trên giấy")).to_have_count(0)  # the rule is "Không"

        admin = browser_signed_in(browser, base, ADMIN, demo_password(deployment, ADMIN))
        pages.append(admin)
        admin.goto(f"{base}/quan-tri/cau-hinh")
        rule = admin.locator('fieldset[data-rule="paper_signing"]')
        rule.get_by_label(re.compile("Cho phép: lãnh đạo duyệt, ký trên giấy")).check()
        admin.locator("#quy-dinh").get_by_role("button", name="Lưu quy định").click()
        expect(admin.get_by_role("status")).to_contain_text("Đã lưu quy định áp dụng của cơ quan")
        expect(admin.locator('fieldset[data-rule="paper_signing"] p.source')).to_contain_text("Hưng Yên, Điều 6.3a")

        leader.reload()
        paper = leader.locator("#duyet-tren-giay")
        paper.get_by_label("Ý kiến duyệt").fill("Đã ký bản giấy, chuyển phát hành")
        shot(leader, "ky-giay-01-lanh-dao-duyet.png")
        paper.get_by_role("button", name="Duyệt, ký trên giấy").click()
        expect(leader.get_by_role("status")).to_contain_text("lãnh đạo duyệt, ký trên giấy")
        expect(leader.locator("#trang-thai")).to_have_text("Đã duyệt, ký trên giấy — chờ chuyển phát hành")

        drafter = browser_signed_in(browser, base, SPECIALIST, demo_password(deployment, SPECIALIST))
        pages.append(drafter)
        drafter.goto(f"{base}/du-thao/{draft_id}")
        forward = drafter.locator("#chuyen-phat-hanh")
        wrong = scanned_letter(tmp_path)
        broken = tmp_path / "phu-luc-hong.pdf"
        broken.write_bytes(b"%PDF-1.7\nkhong doc duoc\n")
        forward.get_by_label("Bản scan văn bản giấy đã ký (PDF)").set_input_files(wrong)
        forward.get_by_label("Bản scan phụ lục giấy").set_input_files(broken)
        forward.get_by_role("button", name="Chuyển phát hành").click()
        # refused with the file named; nothing forwarded or recorded, the form is there to choose again
        expect(drafter.locator("p.notice.error")).to_contain_text(
            "Tệp bản scan phụ lục 'phu-luc-hong.pdf' bị hỏng, không đọc được như một tệp PDF.")
        expect(drafter.locator("#trang-thai")).to_have_text("Đã duyệt, ký trên giấy — chờ chuyển phát hành")
        expect(drafter.locator("#doi-chieu-ban-scan")).to_have_count(0)
        expect(drafter.locator("#chuyen-phat-hanh")).to_contain_text("thay cho 1 tệp phụ lục của phiên bản đã duyệt")
        # the drafter opens the draft again to choose the files: the guide's shot is the form, not the refusal
        drafter.goto(f"{base}/du-thao/{draft_id}")
        expect(drafter.locator("p.notice.error")).to_have_count(0)
        forward = drafter.locator("#chuyen-phat-hanh")
        forward.get_by_label("Bản scan văn bản giấy đã ký (PDF)").set_input_files(wrong)
        forward.get_by_label("Bản scan phụ lục giấy").set_input_files(scanned_appendix(tmp_path))
        shot(drafter, "ky-giay-02-chuyen-phat-hanh.png")
        forward.get_by_role("button", name="Chuyển phát hành").click()
        # stored at once; the check runs in routing's worker while the page says so and reloads itself
        expect(drafter.get_by_role("status")).to_contain_text("Đã nhận bản scan")
        check = drafter.locator("#doi-chieu-ban-scan")
        expect(check).to_contain_text("Đang đối chiếu bản quét với phiên bản lãnh đạo đã duyệt…")
        expect(drafter.locator("#ban-scan-phu-luc-cho")).to_contain_text("kèm bản scan phụ lục giấy: Phụ lục 01")
        # not forwarded: the page that differs, its score and words, and the confirmation asked for
        expect(check).to_contain_text(re.compile(
            r"Bản scan có vẻ không phải phiên bản 1 lãnh đạo đã duyệt: khác ở trang 2 \(bản scan 3 trang"),
            timeout=180_000)
        expect(drafter.locator("#trang-khac li")).to_have_count(1)
        expect(drafter.locator("#trang-khac")).to_contain_text(re.compile(
            r"Trang 2: chỉ khớp \d+ %; có trong bản đã duyệt, không thấy trên bản scan: .*; có trên bản scan, "
            r"không có trong bản đã duyệt: "))
        expect(drafter.locator("#trang-thai")).to_have_text("Đã duyệt, ký trên giấy — chờ chuyển phát hành")
        shot(drafter, "ky-giay-02b-ban-scan-khong-khop.png")
        confirm = drafter.locator("#xac-nhan-ban-scan")   # the scan checked is kept: no file to choose again
        confirm.get_by_label("Tôi đã kiểm tra, đây đúng là bản lãnh đạo đã ký").check()
        confirm.get_by_role("button", name="Xác nhận và chuyển phát hành").click()
        expect(drafter.get_by_role("status")).to_contain_text("Đã chuyển phát hành bản scan", timeout=60_000)
        expect(drafter.locator("#da-chuyen-phat-hanh")).to_contain_text("Đỗ Thu Trang chuyển phát hành")
        # the appendix scan sent with the first request stayed with the scan through the confirmation
        expect(drafter.locator("#ban-scan-phu-luc")).to_contain_text("Bản scan phụ lục giấy đã ký, ban hành thay cho")
        expect(drafter.locator("#kiem-tra-ban-scan")).to_contain_text(re.compile(
            r"Bản scan khác bản lãnh đạo đã duyệt ở trang 2 \(trang thấp nhất chỉ khớp \d+ %\) — người xử lý đã "
            r"xác nhận"))
        history = drafter.locator("#y-kien")
        expect(history).to_contain_text("Duyệt, ký trên giấy")
        expect(history).to_contain_text("Chuyển phát hành (bản scan văn bản giấy đã ký)")
        shot(drafter, "ky-giay-03-da-chuyen.png")

        doc_id = wait_for(lambda: waiting_issue_id(http[CLERK], title), 120, "the scan in 'chờ ban hành'")
        clerk = browser_signed_in(browser, base, CLERK, demo_password(deployment, CLERK))
        pages.append(clerk)
        # the clerk is told the scan arrived (the paper original is theirs to fetch), and the notice leads to it
        clerk.goto(f"{base}/nhac-viec")
        told = clerk.get_by_role("link", name=f"Văn bản lãnh đạo ký trên giấy chờ cấp số, ban hành: {title}")
        told.click()
        expect(clerk).to_have_url(re.compile(r"/van-ban-di/cho-ban-hanh"))
        expect(clerk.locator("main")).to_contain_text(title)
        clerk.goto(f"{base}/van-ban-di/{doc_id}/ban-hanh")
        expect(clerk.locator("#ky-tren-giay")).to_contain_text("Lãnh đạo ký trên giấy (Nguyễn Văn An")
        expect(clerk.locator("#kiem-tra-ban-scan")).to_contain_text(re.compile(
            r"chỉ khớp \d+ % với bản lãnh đạo đã duyệt — người xử lý đã xác nhận đúng là bản lãnh đạo đã ký"))
        # which appendix is a scan of the paper appendix, and what it stands for
        expect(clerk.locator(".ban-scan-phu-luc")).to_have_count(1)
        expect(clerk.locator(".ban-scan-phu-luc")).to_contain_text("Phụ lục 01.pdf bản scan phụ lục giấy đã ký")
        expect(clerk.locator("#phu-luc-ban-scan")).to_contain_text(
            "Phụ lục: 1 bản scan phụ lục giấy đã ký, thay cho 1 tệp phụ lục của phiên bản lãnh đạo đã duyệt.")
        shot(clerk, "ky-giay-03b-cap-so-phu-luc-scan.png")
        pick(clerk, "Gửi điện tử qua trục liên thông", "Sở Nội vụ tỉnh Tuyên Quang")
        clerk.get_by_role("button", name="Cấp số, đóng dấu và ban hành").click()
        expect(clerk.get_by_role("heading", level=1)).to_contain_text("/UBND-TH", timeout=120_000)
        expect(clerk.locator("dl.meta")).to_contain_text(
            re.compile(r"Lãnh đạo ký trên giấy \(Nguyễn Văn An, .*\); bản scan do Đỗ Thu Trang chuyển phát hành .*"
                       r"; bản scan chỉ khớp \d+ % với bản đã duyệt; người xử lý đã xác nhận[^;]*"
                       r"; phụ lục: 1 bản scan phụ lục giấy đã ký"))
        shot(clerk, "ky-giay-04-da-ban-hanh.png")

        doc = http[CLERK].get(f"/api/v1/outgoing/{doc_id}").json()
        assert doc["state"] == "issued" and doc["paper_signed"]["forwarded_by_name"] == "Đỗ Thu Trang"
        assert doc["paper_signed"]["scan_check"]["confirmed"] and not doc["paper_signed"]["scan_check"]["matches"]
        [sealed] = [a for a in doc["attachments"] if a["role"] == "signed"]
        issued_pdf = http[CLERK].get(f"/tep/{doc_id}/{sealed['sha256']}").content
        assert b"DauCoQuan" in issued_pdf and b"/ByteRange" in issued_pdf  # the agency's seal on the scan
        [appendix] = [a for a in doc["attachments"] if a["role"] == "appendix_signed"]
        issued_appendix = http[CLERK].get(f"/tep/{doc_id}/{appendix['sha256']}").content
        # the paper appendix's scan, sealed over its bytes, not the version's appendix file
        assert issued_appendix.startswith(scanned_appendix(tmp_path).read_bytes())
        assert b"DauCoQuanPhuLuc" in issued_appendix
        screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`
    finally:
        admin_api = http[ADMIN]
        admin_api.put("/api/v1/agency-rules", headers={"x-csrf-token": csrf_token_of(admin_api)},
                      json={"values": {"paper_signing": "no"}})
        for page in pages:
            page.context.close()
        for client in http.values():
            client.close()
