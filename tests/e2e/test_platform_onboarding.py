"""The province operator on the real deployment (issue 16, items 3 and 4): an agency is added to the running
installation of UBND tỉnh Tuyên Quang without starting or restarting anything; its registers of the year are made
by the installation's registry, its administrator signs in; added again, nothing is made twice. Once disabled, its
people cannot sign in, and a document sent to it comes back with status 02 from hub H60 (the hub reads the
locked directory record). The usage page and the six-monthly report (PDF, XLSX) cover it. In Chromium: the
operator adds an agency on the screen and publishes a maintenance notice that a clerk then sees."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from services.common.clock import to_vn
from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf, wait_for

H60 = "000.00.00.H60"
NEW, BROWSER_NEW = "000.00.12.H60", "000.00.13.H60"
OPERATOR, CLERK, H60_ADMIN = "thaolt.stttt", "hoalt.vptq", "manhhd.vptq"


def _base(dep) -> str:
    return f"http://127.0.0.1:{dep.topology.gateway_port}"


def _cli(dep, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATA_DIR": str(dep.data_dir), "AGENCIES_FILE": str(dep.agencies_file),
           "HUB_DIRECTORIES": ",".join(f"{dep.topology.extra['namespace']}hub.{h.code}" for h in dep.topology.hubs)}
    proc = subprocess.Popen([sys.executable, "-m", "infra.cli", "agency", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**env, "PYTHONFAULTHANDLER": "1"})
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # the faulthandler prints where it is stuck
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"congvan agency {' '.join(args)} did not finish:\n{err[-6000:]}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _pids(dep) -> dict[str, int]:
    return {name: p.pid for name, p in dep.table.load().items() if p.kind != "infra"}


def _send(base: str, dep, recipient: str, subject: str, clerk=None, notation: str = "UBND-VX",
          letterhead: str = "ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG") -> str:
    own = clerk is None
    clerk = clerk or signed_in(base, CLERK, demo_password(dep, CLERK))
    pdf = vietnamese_pdf(letterhead, subject)
    form = clerk.get("/van-ban-di/gui")
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', form.text).group(1)
    sent = clerk.post("/van-ban-di/gui", data={
        "csrf_token": csrf_of(form.text), "accept_not_legally_valid": "true", "code_number": number,
        "code_notation": notation, "promulgation_date": "2026-11-20", "type_code": "CV", "priority": "0",
        "subject": subject, "signer_full_name": "Nguyễn Văn An", "signer_position": "Chủ tịch",
        "recipients": [recipient]},
        files={"file": ("Công văn.pdf", pdf, "application/pdf")})
    assert sent.status_code == 303, sent.text[:2000]
    if own:
        clerk.close()
    return sent.headers["location"].split("/van-ban/", 1)[1].split("?", 1)[0]


def _first_sign_in(base: str, username: str, password: str, new_password: str):
    client = signed_in(base, username, password)
    change = client.get("/doi-mat-khau")
    r = client.post("/doi-mat-khau", data={"csrf_token": csrf_of(change.text), "old_password": password,
                                           "new_password": new_password, "confirm_password": new_password})
    assert r.status_code == 303, r.text[:1000]
    return client


def _waiting(clerk, subject: str) -> str | None:
    """The id of the document titled `subject` on the clerk's "waiting for reception" page, once it is there."""
    text = clerk.get("/van-ban-den/cho-tiep-nhan").text
    for doc_id, row in re.findall(r'href="/van-ban/([^"]+)">(.*?)</tr>', text, re.S):
        if subject in row:
            return doc_id
    return None


def test_an_added_agency_receives_registers_and_replies_through_its_installations_edge(deployment):
    """Issue 16 item 2: an agency added to Tuyên Quang's running installation gets its hub routing at once (the
    installation's one inbox and broker identity serve it); Đà Nẵng, another installation, sends it a document,
    its clerk registers it, and its reply reaches Đà Nẵng. Nothing is started or restarted."""
    from infra.demo_seed import seeding_admin
    from services.common.rpc_client import ServiceClient

    dep, base = deployment, _base(deployment)
    added, da_nang, dn_clerk = "000.00.06.H60", "000.00.00.H17", "namtv.vpdn"
    before = _pids(dep)
    operator = signed_in(base, OPERATOR, demo_password(dep, OPERATOR))
    page = operator.get("/van-hanh/co-quan")
    made = operator.post("/api/v1/agencies", json={
        "organ_id": added, "name": "Sở Tư pháp tỉnh Tuyên Quang", "installation": H60, "place": "Tuyên Quang",
        "abbreviation": "STP", "admin_full_name": "Đoàn Văn Lực", "admin_unit": "stp"},
        headers={"X-CSRF-Token": csrf_of(page.text)})
    assert made.status_code == 201 and not made.json()["warnings"], made.text
    admin = _first_sign_in(base, made.json()["admin"]["username"], made.json()["admin"]["password"],
                           "Tu-phap-2026!")
    users = admin.get("/quan-tri/nguoi-dung")
    created = admin.post("/quan-tri/nguoi-dung", data={"csrf_token": csrf_of(users.text), "full_name": "Ông Văn Tư",
                                                       "unit": "stp", "position": "Văn thư", "roles": ["clerk"]})
    assert created.status_code == 200, created.text[:2000]
    clerk = _first_sign_in(base, re.search(r'class="issued-username">([^<]+)<', created.text).group(1),
                           re.search(r'class="issued-password">([^<]+)<', created.text).group(1), "Van-thu-2026!")
    # Unsigned test PDFs need the agency's permission (as tests/deployment.py gives the configured agencies).
    services = ServiceClient(dep.agencies()[H60]["amqp_uri"], size=1, timeout=60)
    try:
        services.call("registry", "set_send_policy", seeding_admin(added), True)
    finally:
        services.close()

    # Đà Nẵng sends it a document: hub H17 -> national -> hub H60 -> Tuyên Quang's inbox -> its edge.
    sender = signed_in(base, dn_clerk, demo_password(dep, dn_clerk))
    subject = "Về việc phối hợp thẩm định văn bản quy phạm pháp luật"
    sent_id = _send(base, dep, added, subject, clerk=sender, notation="UBND-TH",
                    letterhead="ỦY BAN NHÂN DÂN THÀNH PHỐ ĐÀ NẴNG")
    incoming_id = wait_for(lambda: _waiting(clerk, subject), 120, "the document at the added agency")
    doc_page = clerk.get(f"/van-ban/{incoming_id}").text
    accepted = clerk.post(f"/van-ban-den/{incoming_id}/tiep-nhan", data={
        "csrf_token": csrf_of(doc_page),
        "register_id": re.search(r'name="register_id">\s*<option value="([^"]+)"', doc_page).group(1)})
    assert accepted.status_code == 303, accepted.text[:2000]

    def arrived_status():
        recipients = sender.get(f"/api/v1/outgoing/{sent_id}/statuses").json()["recipients"]
        return next((r for r in recipients if r["organ_id"] == added and r["status_code"] in ("01", "03", "04")),
                    None)

    wait_for(arrived_status, 90, "the added agency's status at Đà Nẵng")

    # The operator renames it (its record, as "Lưu hồ sơ"): the running services take the new name at once.
    renamed = operator.put(f"/api/v1/agencies/{added}", json={"name": "Sở Tư pháp và Hộ tịch tỉnh Tuyên Quang",
                                                               "place": "Tuyên Quang"},
                           headers={"X-CSRF-Token": csrf_of(page.text)})
    assert renamed.status_code == 200 and not renamed.json()["warnings"], renamed.text

    # Its reply, sent by its own clerk, reaches Đà Nẵng under the new name (the sender named in its edXML package).
    reply = "Về việc trả lời phối hợp thẩm định văn bản"
    _send(base, dep, da_nang, reply, clerk=clerk, notation="STP-VP", letterhead="SỞ TƯ PHÁP TỈNH TUYÊN QUANG")
    back_id = wait_for(lambda: _waiting(sender, reply), 120, "the reply at Đà Nẵng")
    assert "Sở Tư pháp và Hộ tịch tỉnh Tuyên Quang" in sender.get(f"/van-ban/{back_id}").text
    assert _pids(dep) == before
    for client in (operator, admin, clerk, sender):
        client.close()


def test_an_agency_is_added_used_disabled_and_refused_by_the_hub_without_restarts(deployment):
    dep, base = deployment, _base(deployment)
    before = _pids(dep)
    operator = signed_in(base, OPERATOR, demo_password(dep, OPERATOR))
    page = operator.get("/van-hanh/co-quan")
    assert page.status_code == 200 and H60 in page.text
    added = operator.post("/van-hanh/co-quan", data={
        "csrf_token": csrf_of(page.text), "organ_id": NEW, "name": "Sở Xây dựng tỉnh Tuyên Quang",
        "installation": H60, "place": "Tuyên Quang", "abbreviation": "SXD", "admin_full_name": "Trần Văn Bình",
        "admin_unit": "sxd"})
    assert added.status_code == 200, added.text[:2000]
    assert "Đã thêm cơ quan" in added.text and "Chưa tạo được" not in added.text
    username = re.search(r'class="issued-username">([^<]+)<', added.text).group(1)
    password = re.search(r'class="issued-password">([^<]+)<', added.text).group(1)

    # Its administrator signs in, changes the temporary password and finds this year's registers, made by the
    # registry of the installation that was already running.
    admin = signed_in(base, username, password)
    change = admin.get("/doi-mat-khau")
    new_password = "Xay-dung-2026!"
    r = admin.post("/doi-mat-khau", data={"csrf_token": csrf_of(change.text), "old_password": password,
                                          "new_password": new_password, "confirm_password": new_password})
    assert r.status_code == 303, r.text[:1000]
    registers = admin.get("/api/v1/registers").json()
    assert {r["direction"] for r in registers} >= {"incoming", "outgoing"}
    assert all(r["year"] == to_vn(datetime.now(UTC)).year for r in registers)
    # ... and nothing of another agency: the installation's own agency's registers are not these.
    h60_admin = signed_in(base, H60_ADMIN, demo_password(dep, H60_ADMIN))
    assert not {r["id"] for r in registers} & {r["id"] for r in h60_admin.get("/api/v1/registers").json()}

    # Added again (API, then CLI): nothing is made twice.
    again = operator.post("/api/v1/agencies", json={"organ_id": NEW, "name": "Sở Xây dựng tỉnh Tuyên Quang",
                                                    "installation": H60},
                          headers={"X-CSRF-Token": csrf_of(page.text)})
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["admin"] is None
    cli = _cli(dep, "add", NEW, "--name", "Sở Xây dựng tỉnh Tuyên Quang", "--installation", H60, "--json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["created"] is False
    assert len(admin.get("/api/v1/registers").json()) == len(registers)
    listed = json.loads(_cli(dep, "list", "--json").stdout)
    assert next(a for a in listed if a["organ_id"] == NEW)["installation"] == H60

    # Disabled from the shell: its people are out at once, its data stays.
    stopped = _cli(dep, "disable", NEW)
    assert stopped.returncode == 0, stopped.stderr
    assert admin.get("/api/v1/me").status_code == 401
    refused = admin.post("/dang-nhap", data={"username": username, "password": new_password, "next": "/"})
    assert refused.status_code == 403 and "ngừng sử dụng hệ thống" in refused.text
    assert "Ngừng sử dụng" in operator.get(f"/van-hanh/co-quan/{NEW}").text

    # A document sent to it comes back refused (02) from hub H60, through the real edge and hub.
    doc_id = _send(base, dep, NEW, "Về việc gửi cơ quan đã ngừng sử dụng")
    clerk = signed_in(base, CLERK, demo_password(dep, CLERK))

    def refused_status():
        recipients = clerk.get(f"/api/v1/outgoing/{doc_id}/statuses").json()["recipients"]
        return next((r for r in recipients if r["organ_id"] == NEW and r["status_code"] == "02"), None)

    status = wait_for(refused_status, 90, "status 02 from hub H60 for the disabled agency")
    assert "khóa" in json.dumps(status, ensure_ascii=False)

    # Usage and the six-monthly report name it; nothing was started or restarted for any of this.
    usage = operator.get("/van-hanh/su-dung")
    assert usage.status_code == 200 and f'data-organ="{NEW}"' in usage.text
    row = usage.text.split(f'data-organ="{H60}"', 1)[1].split("</tr>", 1)[0]
    assert int(re.search(r'data-figure="issued">(\d+)<', row).group(1)) >= 1
    pdf = operator.get("/van-hanh/bao-cao-6-thang", params={"dinh_dang": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = operator.get("/api/v1/operations-report", params={"format": "xlsx"})
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert "Sở Xây dựng tỉnh Tuyên Quang" in cells and "Ngừng sử dụng" in cells
    assert _pids(dep) == before
    for client in (operator, admin, h60_admin, clerk):
        client.close()


@pytest.mark.browser
def test_the_operator_adds_an_agency_and_announces_maintenance_in_the_browser(deployment, browser, artifacts_dir):
    from playwright.sync_api import expect

    from tests.e2e.test_browser import sign_in

    dep, base = deployment, _base(deployment)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    page.goto(f"{base}/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill(OPERATOR)
    page.get_by_label("Mật khẩu").fill(demo_password(dep, OPERATOR))
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Vận hành nền tảng").click()
    page.get_by_label("Mã định danh").fill(BROWSER_NEW)
    page.get_by_label("Tên cơ quan").fill("Sở Tài chính tỉnh Tuyên Quang")
    page.get_by_label("Họ tên người quản trị").fill("Phạm Thị Hương")
    page.get_by_label("Mã đơn vị của người quản trị").fill("stc")
    page.get_by_role("button", name="Thêm cơ quan").click()
    expect(page.locator("#da-them")).to_contain_text("Đã thêm cơ quan Sở Tài chính tỉnh Tuyên Quang")
    # The demo hosts a Sở Tài chính tỉnh Tuyên Quang already: the operator is told which, by its identifier.
    expect(page.get_by_role("alert").filter(has_text="trùng tên")).to_contain_text(
        "cơ quan có mã định danh 000.00.02.H60 cũng mang tên “Sở Tài chính tỉnh Tuyên Quang”")
    expect(page.locator(".issued-username")).to_have_text("huongpt.stc")
    shots = []

    def shot(on, name: str) -> None:
        shots.append(artifacts_dir / name)
        on.screenshot(path=str(shots[-1]), full_page=True)

    shot(page, "van-hanh-01-them-co-quan.png")
    # Onboarded into the operator's own province's installation, the form's default.
    expect(page.locator(f'tr[data-organ="{BROWSER_NEW}"]')).to_contain_text("000.00.00.H60")

    # The operator's home page: every agency's open problem reports, and the agencies, the latest joined first.
    page.get_by_role("link", name="Trang chủ").click()
    expect(page.get_by_role("heading", name="Báo lỗi chờ xử lý")).to_be_visible()
    latest = page.locator("section.panel-agencies tbody tr").first
    expect(latest).to_have_attribute("data-organ", BROWSER_NEW)
    expect(latest).to_contain_text("Đang sử dụng")
    page.get_by_role("link", name="Vận hành nền tảng").click()

    # The new administrator leaves: the operator finds the account in any agency and locks it.
    page.get_by_role("link", name="Tài khoản", exact=True).click()
    page.get_by_label("Tên đăng nhập hoặc họ tên").fill("huongpt")
    page.get_by_role("button", name="Tìm").click()
    row = page.locator('tr[data-username="huongpt.stc"]')
    expect(row).to_contain_text("Sở Tài chính tỉnh Tuyên Quang")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    row.get_by_role("button", name="Khóa tài khoản").click()
    expect(page.get_by_role("status")).to_contain_text("Đã khóa tài khoản")
    assert "huongpt.stc" in asked[0]   # asked first, naming the account
    expect(page.locator('tr[data-username="huongpt.stc"]')).to_contain_text("Đã khóa")
    shot(page, "van-hanh-02-khoa-tai-khoan.png")

    # Every agency's problem reports in one queue; usage per agency and the six-monthly report.
    page.locator('nav.tabs a[href="/van-hanh/bao-loi"]').click()
    expect(page.get_by_role("heading", name="Báo lỗi của các cơ quan")).to_be_visible()
    shot(page, "van-hanh-03-bao-loi.png")
    page.get_by_role("link", name="Tình hình sử dụng").click()
    expect(page.locator(f'tr[data-organ="{BROWSER_NEW}"]')).to_contain_text("Sở Tài chính tỉnh Tuyên Quang")
    shot(page, "van-hanh-04-tinh-hinh-su-dung.png")
    with page.expect_download() as download:
        page.get_by_role("button", name="Tải XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    now = to_vn(datetime.now(UTC))
    page.get_by_role("link", name="Thông báo bảo trì").click()
    page.get_by_label("Bắt đầu").fill((now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Kết thúc").fill((now + timedelta(days=2, hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Nội dung").fill("Nâng cấp hệ thống lên phiên bản mới")
    page.get_by_role("button", name="Đăng thông báo").click()
    try:
        expect(page.get_by_role("status")).to_contain_text("Đã đăng thông báo bảo trì")
        clerk = sign_in(browser, base, CLERK, demo_password(dep, CLERK))
        expect(clerk.locator("p.maintenance")).to_contain_text("Nâng cấp hệ thống lên phiên bản mới")
        shot(clerk, "van-hanh-05-thong-bao-bao-tri.png")
    finally:  # the deployment is shared: other tests' pages must not carry the banner
        page.goto(f"{base}/van-hanh/bao-tri")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Thu hồi").first.click()
    expect(page.get_by_role("status")).to_contain_text("Đã thu hồi thông báo bảo trì")
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`
