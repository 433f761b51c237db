"""The screens of the user guide (docs/user-guide.md), in a real browser (Playwright driving Debian's Chromium
through the demo deployment; no browser is downloaded).

Every demo role of UBND tỉnh Tuyên Quang (000.00.00.H60) signs in and makes, through the screens, the little data
each screen needs: the administrator creates an account (whose first login forces a password change); Sở Nội vụ's
clerk sends a document; the clerk receives, registers and submits it; the leader writes the directive; the
department head re-assigns; the specialist drafts the reply; the chain approves, the leader signs, the clerk
issues; Sở Nội vụ receives it (valid verdict) and registers it, and status 03 comes back; then tasks, notices,
delegation, progress, reports, the printed register, search, a dossier and a problem report. Each
screen is checked by the Vietnamese heading or element that names it, and saved as
tests/artifacts/guide-NN-<name>.png (1280×800 viewport, full page; the home page also at phone width, 390 px), and
into docs/screenshots/ with `./congvan screenshots` (tests/screenshots.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import expect_in_home_panel, pick, vietnamese_pdf
from tests.gateway.test_drafting import prepare_agency_for_drafts

pytestmark = pytest.mark.browser
H60, SNV = "000.00.00.H60", "000.00.09.H60"
CLERK, LEADER, HEAD, SPECIALIST, ADMIN = "hoalt.vptq", "annv.vptq", "tuanpm.thtq", "trangdt.thtq", "manhhd.vptq"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 120_000
BUSY = "Hệ thống đang bận hoặc dịch vụ chưa sẵn sàng"
BUSY_RETRIES = 12


@pytest.fixture
def patient_expect():
    """expect() waits as long as the pages may take here, and gives the other tests their default back."""
    expect.set_options(timeout=WAIT_MS)
    try:
        yield
    finally:
        expect.set_options(timeout=5_000)


class Guide:
    """Signs people in, takes the numbered screenshots (into docs/screenshots at the end when asked)."""

    def __init__(self, browser: Browser, deployment, artifacts_dir: Path) -> None:
        self.browser = browser
        self.deployment = deployment
        self.base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
        self.artifacts = artifacts_dir
        self.shots: list[Path] = []
        self.last: dict[int, str] = {}
        self.busy_retries: list[str] = []

    def page(self, viewport: dict[str, int] = DESKTOP) -> Page:
        page = self.browser.new_context(viewport=viewport, locale="vi-VN").new_page()
        # Bounds, not timings: on a loaded 2-core machine a page behind several RPCs can take tens of seconds.
        page.set_default_timeout(WAIT_MS)
        page.set_default_navigation_timeout(WAIT_MS)
        page.on("response", lambda r: self._navigated(page, r))
        return page

    def _navigated(self, page: Page, response) -> None:
        if response.request.is_navigation_request() and response.frame == page.main_frame:
            self.last[id(page)] = response.request.method

    def settle(self, page: Page) -> None:
        """A page that says "Hệ thống đang bận ... vui lòng thử lại sau" (a service did not answer within the
        gateway's RPC timeout) is reloaded, as its message asks a person to do; only pages that came from a GET,
        so no action is ever sent twice. Every retry is counted and printed."""
        for _ in range(BUSY_RETRIES):
            if not page.get_by_text(BUSY).count() or self.last.get(id(page)) != "GET":
                return
            self.busy_retries.append(page.url)
            print(f"busy page, reloading: {page.url}")
            page.wait_for_timeout(5_000)
            page.reload()

    def click(self, page: Page, target) -> None:
        target.click()
        self.settle(page)

    def log_in(self, page: Page, username: str, password: str) -> None:
        page.goto(f"{self.base}/dang-nhap")
        page.get_by_label("Tên đăng nhập").fill(username)
        page.get_by_label("Mật khẩu").fill(password)
        self.click(page, page.get_by_role("button", name="Đăng nhập"))

    def sign_in(self, username: str, viewport: dict[str, int] = DESKTOP) -> Page:
        page = self.page(viewport)
        self.log_in(page, username, demo_password(self.deployment, username))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
        return page

    def go(self, page: Page, path: str) -> None:
        page.goto(f"{self.base}{path}")
        self.settle(page)

    def shot(self, page: Page, name: str, full_page: bool = True) -> None:
        path = self.artifacts / f"guide-{len(self.shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.shots.append(path)

    def publish(self) -> None:
        screenshots.publish(self.shots)   # docs/screenshots only with `./congvan screenshots`

    def open_row(self, page: Page, path: str, text: str, what: str, tries: int = 180) -> None:
        """Delivery and events are asynchronous: reload the list until the row shows (bounded), then open it."""
        self.go(page, path)
        row = page.get_by_role("row").filter(has_text=text)
        for _ in range(tries):
            if row.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        assert row.count(), f"{what} never showed in {path}"
        self.click(page, row.first.get_by_role("link").first)


def option_value(page: Page, select: str, text: str) -> str:
    value = page.locator(f"{select} option", has_text=text).first.get_attribute("value")
    assert value, f"no option {text!r} in {select}"
    return value


def test_screens_of_the_user_guide(deployment, browser, artifacts_dir, tmp_path, patient_expect):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    guide = Guide(browser, deployment, artifacts_dir)
    subject = "Về việc hướng dẫn triển khai sổ tay sử dụng phần mềm quản lý văn bản năm 2026"
    reply_title = "Về việc báo cáo kết quả triển khai sổ tay sử dụng phần mềm quản lý văn bản"
    letter = tmp_path / "Công văn Sở Nội vụ.pdf"
    letter.write_bytes(vietnamese_pdf("SỞ NỘI VỤ TỈNH TUYÊN QUANG", subject))
    reply = tmp_path / "Dự thảo báo cáo.pdf"
    reply.write_bytes(vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG",
                                     f"{reply_title}\nKính gửi: Sở Nội vụ tỉnh Tuyên Quang"))

    # -- getting started: the login page; the administrator creates an account; its first login ------------
    anonymous = guide.page()
    guide.go(anonymous, "/")
    expect(anonymous.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    guide.shot(anonymous, "dang-nhap")

    admin = guide.sign_in(ADMIN)
    expect(admin.get_by_role("heading", name="Quản trị hệ thống", exact=True)).to_be_visible()
    guide.shot(admin, "trang-chu-quan-tri")
    guide.click(admin, admin.get_by_role("link", name="Đơn vị", exact=True).first)
    admin.get_by_label("Mã đơn vị").fill("kttq")
    admin.get_by_label("Tên đơn vị").fill("Phòng Kinh tế")
    guide.click(admin, admin.get_by_role("button", name="Lưu đơn vị"))
    expect(admin.get_by_role("status")).to_have_text("Đã lưu đơn vị.")
    # the units' table (the page's history of changes below it names the unit too)
    expect(admin.locator("table.unit-tree").get_by_role("row").filter(has_text="kttq")).to_contain_text(
        "Phòng Kinh tế")
    guide.shot(admin, "quan-tri-don-vi")
    guide.click(admin, admin.get_by_role("link", name="Người dùng").first)
    admin.get_by_label("Họ và tên").fill("Trần Thị Bích Ngọc")
    admin.locator("input[name=unit]").fill("kttq")  # its label also holds the unit list
    admin.get_by_label("Chức vụ").fill("Chuyên viên phòng Kinh tế")
    admin.get_by_label("Chuyên viên", exact=True).check()
    guide.click(admin, admin.get_by_role("button", name="Tạo tài khoản"))
    if admin.get_by_role("alert").filter(has_text="đã có người dùng").count():
        # The name is taken in this deployment: accept the digit the screen proposes, as an administrator would.
        guide.click(admin, admin.get_by_role("button", name="Tạo tài khoản"))
    expect(admin.get_by_role("status")).to_contain_text("Đã tạo tài khoản cho Trần Thị Bích Ngọc")
    new_username = admin.locator("code.issued-username").inner_text()
    new_password = admin.locator("code.issued-password").inner_text()
    expect(admin.get_by_role("row").filter(has_text=new_username)).to_contain_text("Chờ đổi mật khẩu")
    guide.shot(admin, "quan-tri-tao-tai-khoan")

    newcomer = guide.page()
    guide.log_in(newcomer, new_username, new_password)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Đổi mật khẩu")
    expect(newcomer.get_by_text("Đây là lần đăng nhập đầu tiên")).to_be_visible()
    newcomer.get_by_label("Mật khẩu hiện tại").fill(new_password)
    newcomer.get_by_label("Mật khẩu mới", exact=True).fill("Tuyen-Quang-2026!")
    newcomer.get_by_label("Nhập lại mật khẩu mới").fill("Tuyen-Quang-2026!")
    guide.shot(newcomer, "doi-mat-khau-lan-dau")
    guide.click(newcomer, newcomer.get_by_role("button", name="Đổi mật khẩu"))
    expect(newcomer.get_by_role("status")).to_have_text("Đã đổi mật khẩu.")
    expect(newcomer.get_by_role("heading", level=1)).to_contain_text("Xin chào, Trần Thị Bích Ngọc")

    # -- the administrator's other screens -------------------------------------------------------------------
    guide.click(admin, admin.get_by_role("link", name="Sổ văn bản").first)
    expect(admin.get_by_role("heading", name="Các sổ văn bản", exact=True)).to_be_visible()
    guide.shot(admin, "quan-tri-so-van-ban")
    guide.click(admin, admin.get_by_role("link", name="Danh mục").first)
    expect(admin.get_by_role("heading", name="Loại văn bản và chữ viết tắt (Phụ lục III)")).to_be_visible()
    guide.shot(admin, "quan-tri-danh-muc", full_page=False)
    guide.click(admin, admin.get_by_role("link", name="Cấu hình").first)
    expect(admin.get_by_role("heading", name="Quy trình trình duyệt dự thảo", exact=True)).to_be_visible()
    guide.shot(admin, "quan-tri-cau-hinh")

    # -- Sở Nội vụ's clerk sends a document to UBND tỉnh Tuyên Quang -----------------------------------------
    sender = guide.sign_in("lanvt.snv")
    guide.click(sender, sender.get_by_role("link", name="Gửi văn bản"))
    expect(sender.get_by_role("heading", level=1)).to_have_text("Gửi văn bản đã ký số")
    sender.get_by_label("Ký hiệu").fill("SNV-CCHC")
    sender.get_by_label("Độ khẩn").select_option("1")
    sender.get_by_label("Trích yếu").fill(subject)
    sender.get_by_label("Người ký", exact=True).fill("Trịnh Quang Huy")
    sender.get_by_label("Chức vụ người ký").fill("Giám đốc")
    pick(sender, "Nơi nhận", H60)
    sender.get_by_label("Tệp văn bản").set_input_files(str(letter))
    sender.get_by_label("Vẫn gửi nếu chữ ký số không hợp lệ").check()  # a test PDF: unsigned (issue 18)
    guide.shot(sender, "van-thu-gui-van-ban")
    guide.click(sender, sender.get_by_role("button", name="Gửi văn bản"))
    expect(sender.get_by_role("status")).to_have_text("Đã gửi văn bản.")

    # -- the clerk: receive, register, submit ---------------------------------------------------------------
    clerk = guide.sign_in(CLERK)
    guide.open_row(clerk, "/van-ban-den/cho-tiep-nhan", subject, "the document from Sở Nội vụ")
    incoming_id = clerk.url.rstrip("/").rsplit("/", 1)[-1]
    expect(clerk.get_by_role("heading", name="Tiếp nhận", exact=True)).to_be_visible()
    expect(clerk.get_by_role("heading", name="Hành trình gói tin", exact=True)).to_be_visible()
    guide.shot(clerk, "van-thu-tiep-nhan")
    guide.click(clerk, clerk.get_by_role("button", name="Tiếp nhận và vào sổ"))
    expect(clerk.get_by_role("status")).to_have_text("Đã tiếp nhận và vào sổ văn bản đến.")
    expect(clerk.get_by_role("heading", name="Lịch sử xử lý", exact=True)).to_be_visible()
    expect(clerk.locator("dl.meta")).to_contain_text("Chữ ký số")
    expect(clerk.locator("dl.meta")).to_contain_text("Số đến")
    guide.shot(clerk, "van-ban-den-da-vao-so")

    guide.go(clerk, "/")
    expect(clerk.get_by_role("heading", name="Văn bản đến chờ trình")).to_be_visible()
    expect_in_home_panel(clerk, "Văn bản đến chờ trình", subject)
    guide.shot(clerk, "trang-chu-van-thu")
    guide.open_row(clerk, "/xu-ly?hop=cho-trinh", subject, "the registered document in 'chờ trình'")
    clerk.locator("#trinh").get_by_label("Trình lãnh đạo").select_option(
        option_value(clerk, "#trinh select[name=to_user_id]", "Nguyễn Văn An"))
    clerk.locator("#trinh").get_by_label("Ghi chú").fill("Kính trình đồng chí Chủ tịch cho ý kiến chỉ đạo.")
    expect(clerk.get_by_role("heading", name="Trình văn bản", exact=True)).to_be_visible()
    guide.shot(clerk, "van-thu-trinh-lanh-dao")
    guide.click(clerk, clerk.locator("#trinh").get_by_role("button", name="Trình"))
    expect(clerk.get_by_role("status")).to_have_text("Đã trình văn bản.")

    # -- the leader: home, directive and assignment ---------------------------------------------------------
    leader = guide.sign_in(LEADER)
    expect_in_home_panel(leader, "Chờ cho ý kiến, chỉ đạo", subject)
    guide.shot(leader, "trang-chu-lanh-dao")
    guide.go(leader, f"/xu-ly/{incoming_id}")
    expect(leader.get_by_role("heading", name="Bút phê và phân công", exact=True)).to_be_visible()
    leader.get_by_label("Ý kiến chỉ đạo (bút phê)").fill(
        "Giao phòng Tổng hợp chủ trì, tham mưu báo cáo kết quả triển khai gửi Sở Nội vụ.")
    leader.locator("#but-phe select[name=main]").select_option(label="Phòng Tổng hợp")
    leader.locator("#but-phe input[name=deadline]").fill((date.today() + timedelta(days=10)).isoformat())
    guide.shot(leader, "lanh-dao-but-phe-phan-cong")
    guide.click(leader, leader.get_by_role("button", name="Phân công"))
    expect(leader.get_by_role("status")).to_have_text("Đã bút phê và phân công xử lý.")

    # -- the department head re-assigns inside the unit -----------------------------------------------------
    head = guide.sign_in(HEAD)
    expect_in_home_panel(head, "Văn bản cần phân công trong đơn vị", subject)
    guide.shot(head, "trang-chu-lanh-dao-phong")
    guide.go(head, f"/xu-ly/{incoming_id}")
    expect(head.get_by_role("heading", name="Giao trong đơn vị", exact=True)).to_be_visible()
    head.locator("#giao-lai select[name=user_id]").select_option(
        option_value(head, "#giao-lai select[name=user_id]", "Đỗ Thu Trang"))
    head.locator("#giao-lai").get_by_label("Ghi chú").fill("Em dự thảo báo cáo, trình anh trong tuần.")
    guide.shot(head, "lanh-dao-phong-giao-lai")
    guide.click(head, head.get_by_role("button", name="Giao", exact=True))
    expect(head.get_by_role("status")).to_have_text("Đã giao lại trong đơn vị.")

    # -- the specialist: home, the handling page, the reply draft -------------------------------------------
    specialist = guide.sign_in(SPECIALIST)
    expect_in_home_panel(specialist, "Văn bản cần xử lý", subject)
    guide.shot(specialist, "trang-chu-chuyen-vien")
    guide.go(specialist, f"/xu-ly/{incoming_id}")
    expect(specialist.get_by_role("heading", name="Xử lý", exact=True)).to_be_visible()
    expect(specialist.locator("dd.directive")).to_contain_text("Giao phòng Tổng hợp chủ trì")
    guide.shot(specialist, "chuyen-vien-xu-ly")
    guide.click(specialist, specialist.get_by_role("link", name="Soạn văn bản trả lời"))
    expect(specialist.get_by_role("heading", level=1)).to_have_text("Soạn dự thảo mới")
    specialist.get_by_label("Trích yếu").fill(reply_title)
    specialist.get_by_label("Loại văn bản").select_option("BC")
    specialist.get_by_label("Tệp dự thảo").set_input_files(str(reply))
    guide.shot(specialist, "chuyen-vien-soan-du-thao")
    guide.click(specialist, specialist.get_by_role("button", name="Tạo dự thảo"))
    expect(specialist.get_by_role("status")).to_have_text("Đã tạo dự thảo.")
    draft_url = specialist.url.split("?")[0]
    specialist.get_by_label("Ghi chú khi trình").fill("Kính trình anh Tuấn xem xét.")
    guide.click(specialist, specialist.get_by_role("button", name="Trình duyệt"))
    expect(specialist.get_by_role("status")).to_have_text("Đã trình duyệt dự thảo.")
    chain = specialist.locator("dl.meta")
    expect(chain).to_contain_text("Quy trình duyệt")
    expect(chain).to_contain_text("Lãnh đạo cơ quan")  # the last step: the leader approves and signs
    guide.shot(specialist, "du-thao-quy-trinh-duyet")

    # -- the review chain: the department head approves; the leader approves and signs ----------------------
    guide.go(head, "/du-thao")
    expect(head.locator("#cho-toi-duyet")).to_contain_text(reply_title)
    guide.shot(head, "du-thao-cho-toi-duyet")
    guide.click(head, head.locator("#cho-toi-duyet").get_by_role("link", name=reply_title))
    head.get_by_label("Ý kiến duyệt").fill("Nội dung đạt, kính trình lãnh đạo.")
    guide.click(head, head.get_by_role("button", name="Đồng ý, chuyển bước sau"))
    expect(head.get_by_role("status")).to_have_text("Đã duyệt, dự thảo chuyển sang bước sau.")

    leader.goto(draft_url)
    guide.settle(leader)
    expect(leader.get_by_role("button", name="Duyệt và ký")).to_be_visible()
    leader.get_by_label("Ý kiến duyệt").fill("Đồng ý ban hành.")
    guide.shot(leader, "lanh-dao-duyet-ky")
    guide.click(leader, leader.get_by_role("button", name="Duyệt và ký"))
    expect(leader.get_by_role("status")).to_have_text(
        "Đã duyệt và ký số dự thảo; văn bản chuyển văn thư chờ ban hành.")
    expect(leader.locator("#ket-qua-kiem-tra")).to_contain_text("hợp lệ")
    guide.shot(leader, "lanh-dao-da-ky")

    # -- the clerk numbers, seals and issues it -------------------------------------------------------------
    guide.open_row(clerk, "/van-ban-di/cho-ban-hanh", reply_title, "the signed reply in 'chờ ban hành'")
    guide.click(clerk, clerk.get_by_role("link", name="Cấp số và ban hành"))
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Cấp số và ban hành văn bản")
    expect(clerk.locator("#so-se-cap")).to_contain_text("/")
    pick(clerk, "Gửi điện tử qua trục liên thông", SNV)
    guide.shot(clerk, "van-thu-ban-hanh")
    guide.click(clerk, clerk.get_by_role("button", name="Cấp số, đóng dấu và ban hành"))
    expect(clerk.get_by_role("status")).to_have_text("Đã gửi văn bản.")
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("Văn bản đi")
    outgoing_url = clerk.url.split("?")[0]

    # -- Sở Nội vụ receives the signed reply: valid verdict (the leader's signature and the seal); registers it --
    guide.open_row(sender, "/van-ban-den/cho-tiep-nhan", reply_title, "the reply at Sở Nội vụ")
    # The package is listed once stored; signing's verdict follows it: a clerk reloads while it says "Đang kiểm tra".
    for _ in range(240):
        if "Đang kiểm tra" not in sender.locator("dl.meta").inner_text():
            break
        sender.wait_for_timeout(500)
        sender.reload()
    expect(sender.get_by_text("Văn bản có giá trị pháp lý").first).to_be_visible()
    guide.shot(sender, "van-ban-den-chu-ky-hop-le")
    guide.click(sender, sender.get_by_role("button", name="Tiếp nhận và vào sổ"))
    expect(sender.get_by_role("status")).to_have_text("Đã tiếp nhận và vào sổ văn bản đến.")

    # -- the clerk sees the recipient's statuses: 01 (arrived), then 03 (registered) ----------------------------
    statuses = clerk.locator("table").filter(has_text="Đã tiếp nhận")
    for _ in range(240):  # the statuses come back through the hub, asynchronously
        guide.go(clerk, outgoing_url.removeprefix(guide.base))
        if statuses.count():
            break
        clerk.wait_for_timeout(500)
    expect(clerk.get_by_role("heading", name="Trạng thái tại nơi nhận", exact=True)).to_be_visible()
    expect(statuses.first).to_contain_text("03")
    guide.shot(clerk, "van-ban-di-trang-thai-noi-nhan")

    # -- tasks, notices, delegation, progress, reports ------------------------------------------------------
    guide.go(leader, "/cong-viec")
    expect(leader.get_by_role("heading", name="Tạo công việc", exact=True)).to_be_visible()
    leader.get_by_label("Tên công việc").fill("Tổng hợp ý kiến góp ý sổ tay sử dụng phần mềm")
    leader.get_by_label("Nội dung").fill("Tổng hợp ý kiến của các phòng, báo cáo trước ngày 30.")
    leader.get_by_label("Người thực hiện").select_option(
        option_value(leader, "select[name=assignee]", "Đỗ Thu Trang"))
    leader.get_by_label("Hạn hoàn thành").fill((date.today() + timedelta(days=7)).isoformat())
    guide.click(leader, leader.get_by_role("button", name="Tạo công việc"))
    expect(leader.get_by_role("status")).to_have_text("Đã tạo công việc.")
    task_url = leader.url.split("?")[0]
    specialist.goto(task_url)
    guide.settle(specialist)
    specialist.get_by_label("Tiến độ (%)").fill("50")
    specialist.get_by_label("Ghi chú").fill("Đã nhận ý kiến của 2/4 phòng.")
    guide.click(specialist, specialist.get_by_role("button", name="Cập nhật tiến độ"))
    expect(specialist.get_by_role("status")).to_have_text("Đã cập nhật tiến độ.")
    expect(specialist.get_by_role("heading", name="Trao đổi, tiến độ", exact=True)).to_be_visible()
    guide.shot(specialist, "cong-viec")

    guide.go(leader, "/thong-bao")
    leader.get_by_label("Tiêu đề").fill("Lịch họp giao ban tuần")
    leader.get_by_label("Nội dung").fill("Họp giao ban lúc 8 giờ sáng thứ Hai tại phòng họp số 1.")
    guide.click(leader, leader.get_by_role("button", name="Đăng thông báo"))
    expect(leader.get_by_role("status")).to_have_text("Đã đăng thông báo.")
    guide.go(specialist, "/thong-bao")
    expect(specialist.get_by_role("heading", level=1)).to_have_text("Thông báo nội bộ")
    expect(specialist.get_by_role("link", name="Lịch họp giao ban tuần")).to_be_visible()
    guide.shot(specialist, "thong-bao-noi-bo")

    guide.go(leader, "/uy-quyen")
    expect(leader.get_by_role("heading", name="Ủy quyền mới", exact=True)).to_be_visible()
    guide.shot(leader, "lanh-dao-uy-quyen")
    guide.go(leader, "/tien-do")
    expect(leader.get_by_role("heading", level=1)).to_contain_text("Tiến độ xử lý văn bản đến")
    guide.shot(leader, "lanh-dao-tien-do")
    guide.go(leader, "/bao-cao")
    expect(leader.get_by_role("heading", level=1)).to_have_text("Báo cáo, thống kê")
    guide.shot(leader, "bao-cao-thong-ke")
    guide.go(clerk, "/in-so?so=den")
    expect(clerk.get_by_role("heading", level=1)).to_have_text("In sổ đăng ký văn bản")
    expect(clerk.locator("table.register")).to_contain_text("SNV-CCHC")
    guide.shot(clerk, "in-so-van-ban-den")

    # -- everyone: search and dossiers ----------------------------------------------------------------------
    found = clerk.get_by_role("row").filter(has_text=subject)
    for _ in range(120):  # the search index follows the registry's events
        guide.go(clerk, "/tra-cuu?text=so+tay+su+dung")
        if found.count():
            break
        clerk.wait_for_timeout(500)
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Tra cứu văn bản")
    expect(found.first).to_be_visible()
    guide.shot(clerk, "tra-cuu")

    guide.go(clerk, "/ho-so")
    expect(clerk.get_by_role("heading", name="Mở hồ sơ ngoài danh mục", exact=True)).to_be_visible()
    form = clerk.locator("form[action='/ho-so/mo']").last
    form.get_by_label("Tiêu đề hồ sơ").fill("Hồ sơ triển khai sổ tay sử dụng phần mềm quản lý văn bản")
    form.get_by_label("Số và ký hiệu hồ sơ").fill("12.VP")
    form.get_by_label("Thời hạn bảo quản").fill("10 năm")
    guide.click(clerk, form.get_by_role("button", name="Mở hồ sơ"))
    expect(clerk.get_by_role("status")).to_have_text("Đã mở hồ sơ.")
    dossier_url = clerk.url.split("?")[0]
    guide.go(clerk, f"/van-ban/{incoming_id}")
    guide.click(clerk, clerk.get_by_role("link", name="Thêm vào hồ sơ"))
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Thêm vào hồ sơ")
    chosen = clerk.get_by_role("row").filter(has_text="12.VP")
    guide.click(clerk, chosen.get_by_role("button", name="Thêm vào hồ sơ này"))
    expect(clerk.get_by_role("status")).to_have_text("Đã thêm vào hồ sơ.")
    assert clerk.url.split("?")[0] == dossier_url
    expect(clerk.locator("#muc-luc")).to_contain_text(subject)
    guide.shot(clerk, "ho-so-cong-viec")

    # -- everyone: a problem report from the page where it happened ------------------------------------------
    guide.go(specialist, "/du-thao")
    guide.click(specialist, specialist.get_by_role("link", name="Báo lỗi", exact=True))
    expect(specialist.get_by_role("heading", level=1)).to_have_text("Báo lỗi phần mềm")
    expect(specialist.get_by_text("Trang đang mở khi báo lỗi")).to_contain_text("/du-thao")
    specialist.get_by_label("Mô tả chi tiết").fill(
        "Ví dụ: tải lên tệp dự thảo 60 MB thì trang báo vượt dung lượng; cần hướng dẫn cách giảm dung lượng tệp.")
    specialist.get_by_label("Ảnh chụp giao diện").set_input_files(str(guide.shots[-1]))
    specialist.get_by_label("Kiến nghị, đề xuất").fill("Bổ sung hướng dẫn vào sổ tay sử dụng.")
    guide.shot(specialist, "bao-loi")
    guide.click(specialist, specialist.get_by_role("button", name="Gửi báo lỗi"))
    # The page also carries base.html's (empty) notice for the same query parameter: pick the report's own.
    expect(specialist.get_by_role("status").filter(has_text="Đã gửi báo lỗi")).to_have_text(
        "Đã gửi báo lỗi cho quản trị phần mềm của cơ quan.")
    expect(specialist.get_by_role("heading", level=1)).to_contain_text("Biên bản ghi nhận lỗi số")

    # -- the home page on a phone ---------------------------------------------------------------------------
    phone = guide.sign_in(CLERK, PHONE)
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Xin chào, Lê Thị Hoa")
    guide.shot(phone, "trang-chu-dien-thoai")

    guide.publish()
    print(f"busy pages reloaded: {len(guide.busy_retries)} {guide.busy_retries}")
