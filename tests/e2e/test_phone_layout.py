"""Every role on a phone (390×844, Chromium through the demo deployment): the home page and each page of the role's
menu fit the screen (no sideways scroll), tables read as labelled cards, controls are big enough to tap, the menu
is one button, and the skip link and the current menu item are there. Then the same pages under axe-core
(WCAG 2 A and AA), at phone and desktop width, with the violations printed per page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from infra.axe import axe_script
from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.test_guide_screens import ADMIN, CLERK, DESKTOP, HEAD, LEADER, PHONE, SPECIALIST

pytestmark = pytest.mark.browser
HUB_OPERATOR = "quancm.cntttq"
ROLES = {"văn thư": CLERK, "lãnh đạo": LEADER, "lãnh đạo phòng": HEAD, "chuyên viên": SPECIALIST,
         "quản trị": ADMIN, "vận hành trục": HUB_OPERATOR}
WAIT_MS = 120_000
BUSY = "Hệ thống đang bận hoặc dịch vụ chưa sẵn sàng"
# Pages that answer with a file or need a document of their own are not part of the crawl.
SKIP = ("/dang-xuat", ".pdf", ".xlsx", "/tai-ve", "dinh-dang=")

# What a person sees of each control: its box, only where it is shown.
TAP_TARGETS = """() => {
  const seen = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'; };
  const q = 'main button, main .button, main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), '
          + 'main select, main .tabs a, main td a, .menu a, .who a, .who button, .menu-toggle, '
          + 'main label.inline, main label.check';
  return [...document.querySelectorAll(q)].filter(seen).map(el => ({
    what: el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' '
          + (el.textContent || el.name || '').trim().slice(0, 30),
    height: Math.round(el.getBoundingClientRect().height)}));
}"""
# Each card cell shown with its column's name above its value (the label drawn from data-label).
CARD_LABELS = """() => [...document.querySelectorAll('main table')]
  .filter(t => t.tBodies.length && t.tBodies[0].rows.length)
  .map(t => ({
    headerShown: t.tHead ? t.tHead.getBoundingClientRect().height > 1 : false,
    roles: t.getAttribute('role') + '/' + (t.tBodies[0].rows[0].getAttribute('role') || ''),
    // the first row of data: a group's heading row (one th across the columns) names no column
    cells: [...([...t.tBodies[0].rows].find(r => [...r.cells].some(c => c.tagName === 'TD'))
                || t.tBodies[0].rows[0]).cells].filter(c => c.textContent.trim()).map(c => ({
      label: c.getAttribute('data-label'),
      drawn: getComputedStyle(c, '::before').content,
      role: c.getAttribute('role')}))}))"""


class Phone:
    def __init__(self, browser, deployment, viewport=PHONE) -> None:
        self.base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
        self.deployment = deployment
        # bypass_csp: axe is put into the page by the test, which the gateway's policy would rightly refuse.
        self.context = browser.new_context(viewport=viewport, locale="vi-VN", bypass_csp=True)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.page.set_default_navigation_timeout(WAIT_MS)

    def sign_in(self, username: str) -> None:
        page = self.page
        page.goto(f"{self.base}/dang-nhap")
        page.get_by_label("Tên đăng nhập").fill(username)
        page.get_by_label("Mật khẩu").fill(demo_password(self.deployment, username))
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_role("heading", level=1).filter(has_text="Xin chào").wait_for()

    def go(self, path: str) -> None:
        """A page that says the system is busy is reloaded as its message asks (GET only), a bounded number of times."""
        self.page.goto(f"{self.base}{path}")
        for _ in range(12):
            if not self.page.get_by_text(BUSY).count():
                return
            self.page.wait_for_timeout(5_000)
            self.page.reload()

    def menu_paths(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all("#thuc-don a[href]", "links => links.map(a => a.getAttribute('href'))")
        return ["/"] + [h for h in dict.fromkeys(hrefs) if h != "/" and not any(s in h for s in SKIP)]

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_s_pages_fit_a_phone(deployment, browser, role):
    phone = Phone(browser, deployment)
    page = phone.page
    try:
        phone.sign_in(ROLES[role])
        # The first Tab reaches the skip link, which leads to the page's content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Chuyển đến nội dung chính"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "noi-dung"
        # The menu is one button: closed at first, opened by a tap, the links then reachable.
        toggle = page.get_by_role("button", name="Danh mục", exact=True)
        assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
        assert not page.locator("#thuc-don").is_visible()
        header = page.locator(".topbar").bounding_box()
        assert header["height"] <= 0.2 * PHONE["height"], f"header takes {header['height']} px of {PHONE['height']}"
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true" and page.locator("#thuc-don").is_visible()
        assert page.locator('#thuc-don a[aria-current="page"]').inner_text() == "Trang chủ"

        wide, small, unlabelled, labelled_tables = [], [], [], 0
        for path in phone.menu_paths():
            phone.go(path)
            page.get_by_role("button", name="Danh mục", exact=True).click()  # opened, so its links are measured too
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide.append(f"{path}: {width} px")
            small += [f"{path}: {t['what']} {t['height']} px" for t in page.evaluate(TAP_TARGETS) if t["height"] < 44]
            if path != "/":
                current = page.locator('#thuc-don a[aria-current="page"]')
                assert current.count() == 1 and current.get_attribute("href") == path, f"{path}: current item"
            for table in page.evaluate(CARD_LABELS):
                labelled_tables += 1
                assert not table["headerShown"] and table["roles"] == "table/row", f"{path}: {table}"
                for cell in table["cells"]:
                    if not cell["label"] or cell["label"] not in cell["drawn"] or cell["role"] != "cell":
                        unlabelled.append(f"{path}: {cell}")
        print(f"{role}: {len(phone.menu_paths())} pages, {labelled_tables} tables as cards")
        assert not wide, f"pages wider than the phone: {wide}"
        assert not unlabelled, f"card cells without their column's name: {unlabelled}"
        assert not small, f"controls lower than 44 px: {small}"
    finally:
        phone.close()


def test_tables_become_labelled_cards_with_rows(deployment, browser, artifacts_dir):
    """The administrator's list of people always has rows: each shows as a card whose cells carry their names.
    Its screenshots of the phone screens are the user guide's (published by `./congvan screenshots`)."""
    phone = Phone(browser, deployment)
    page = phone.page
    try:
        phone.sign_in(ADMIN)
        page.screenshot(path=str(artifacts_dir / "phone-trang-chu.png"))
        page.get_by_role("button", name="Danh mục", exact=True).click()
        page.screenshot(path=str(artifacts_dir / "phone-danh-muc.png"))
        phone.go("/quan-tri/nguoi-dung")
        tables = page.evaluate(CARD_LABELS)
        assert tables, "no table with rows on the users page"
        cells = tables[-1]["cells"]
        assert {"Tên đăng nhập", "Họ và tên", "Vai trò"} <= {c["label"] for c in cells}, cells
        assert all(c["label"] in c["drawn"] for c in cells), cells
        row = page.locator("main table tbody tr").last.bounding_box()
        assert row["width"] <= PHONE["width"]
        page.locator("main table tbody tr").last.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "phone-bang-the.png"))
        screenshots.publish([artifacts_dir / "phone-danh-muc.png", artifacts_dir / "phone-bang-the.png"])
    finally:
        phone.close()


# Links that answer with a file (a download, an export, a draft's PDF), not a page.
FILES = re.compile(r"^/tep/[^/]+/[^/]+/?$|/xuat/|^/du-thao/[^/]+/tep/")


def page_kind(path: str) -> str:
    """A page's kind: its path with the parts that name a record (numbers, ids, codes) replaced by "*"."""
    return re.sub(r"/(?=[^/]*\d)[^/]+", "/*", path.split("?")[0].split("#")[0])


def crawl(phone: Phone, seen: set[str], limit: int = 60):
    """The role's menu pages, then every page reachable from them by a link in the content, one of each kind not
    seen yet (`seen` is shared by the roles: a kind reached by one role is not visited again by the next)."""
    queue = list(phone.menu_paths())
    menu, visited = set(queue), set()
    while queue and len(visited) < limit:
        path = queue.pop(0)
        kind = page_kind(path)
        if path in visited or (kind in seen and path not in menu) or any(s in path for s in SKIP) \
                or FILES.search(path):
            continue
        seen.add(kind)
        visited.add(path)
        phone.go(path)
        yield path
        links = phone.page.eval_on_selector_all(
            "main a[href^='/']:not([download])", "links => links.map(a => a.getAttribute('href'))")
        queue += [h for h in dict.fromkeys(links) if page_kind(h) not in seen and not any(s in h for s in SKIP)]


def sent_to_h60(deployment, subject: str) -> str:
    """A document sent by Sở Nội vụ to the province's People's Committee (H60), whose clerk then has it waiting;
    its number."""
    from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf

    sender_name = "lanvt.snv"
    sender = signed_in(f"http://127.0.0.1:{deployment.topology.gateway_port}", sender_name,
                       demo_password(deployment, sender_name))
    try:
        form = sender.get("/van-ban-di/gui")
        number = re.search(r'name="code_number"[^>]*value="(\d+)"', form.text).group(1)
        sent = sender.post("/van-ban-di/gui", data={
            "csrf_token": csrf_of(form.text), "accept_not_legally_valid": "true",  # an unsigned throwaway PDF
            "code_number": number, "code_notation": "SNV-VP",
            "promulgation_date": "2026-11-20", "type_code": "CV", "priority": "1", "subject": subject,
            "signer_full_name": "Trịnh Quang Huy", "signer_position": "Giám đốc", "recipients": ["000.00.00.H60"],
        }, files={"file": ("Công văn SNV-VP.pdf", vietnamese_pdf("SỞ NỘI VỤ TỈNH TUYÊN QUANG", subject),
                           "application/pdf")})
        assert sent.status_code == 303, sent.text[:1000]
        return number
    finally:
        sender.close()


def seed_for_the_crawl(deployment) -> None:
    """Pages the crawl reaches only through data: a document waiting for the clerk (its page, its PDF read page by
    page), a registered one (its handling page), a task and a dossier of the clerk's (their pages) and a draft of
    the specialist's (its page, its placement preview).
    Tests make their own data; the demo's lists start empty."""
    from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf, wait_for

    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    drafter = signed_in(base, SPECIALIST, demo_password(deployment, SPECIALIST))
    try:
        title = "Về việc rà soát khả năng tiếp cận trên điện thoại"
        form = drafter.get("/du-thao/moi")
        made = drafter.post("/du-thao/moi", data={"csrf_token": csrf_of(form.text), "title": title,
                                                  "type_code": "CV", "priority": "0", "note": ""},
                            files=[("file", ("Dự thảo.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", title),
                                             "application/pdf"))])
        assert made.status_code == 303, made.text[:500]
    finally:
        drafter.close()

    number = sent_to_h60(deployment, "Về việc kiểm tra khả năng tiếp cận của mọi trang trên điện thoại")
    handled_subject = "Về việc kiểm tra trang xử lý văn bản đến trên điện thoại"
    handled = sent_to_h60(deployment, handled_subject)
    clerk = signed_in(f"http://127.0.0.1:{deployment.topology.gateway_port}", CLERK, demo_password(deployment, CLERK))
    try:
        wait_for(lambda: all(f"{n}/SNV-VP" in clerk.get("/van-ban-den/cho-tiep-nhan").text for n in (number, handled)),
                 120, "the crawl's documents in the clerk's waiting list", every=2)
        # The second is received and registered: its handling page ("chờ trình") is then reachable too.
        waiting = clerk.get("/van-ban-den/cho-tiep-nhan").text
        doc_id = re.search(rf'href="/van-ban/([^"]+)">{handled}/SNV-VP', waiting).group(1)
        page = clerk.get(f"/van-ban/{doc_id}").text
        register_id = re.search(r'<select name="register_id"><option value="([^"]+)"', page).group(1)
        accepted = clerk.post(f"/van-ban-den/{doc_id}/tiep-nhan",
                              data={"csrf_token": csrf_of(page), "register_id": register_id})
        assert accepted.status_code == 303, accepted.text[:500]
        wait_for(lambda: handled_subject in clerk.get("/xu-ly?hop=cho-trinh").text, 120,
                 "the registered document in 'chờ trình'", every=2)
        form = clerk.get("/cong-viec")
        made = clerk.post("/cong-viec", data={"csrf_token": csrf_of(form.text), "due": "05032027",
                                              "title": "Rà soát trang trên điện thoại"})
        assert made.status_code == 303, made.text[:500]
        form = clerk.get("/ho-so")
        opened = clerk.post("/ho-so/mo", data={"csrf_token": csrf_of(form.text), "file_notation": "07.VP",
                                               "title": "Hồ sơ rà soát khả năng tiếp cận", "retention": "10 năm"})
        assert opened.status_code == 303, opened.text[:500]
    finally:
        clerk.close()


def axe_violations(page: Page, script) -> list[dict]:
    page.add_script_tag(path=str(script))
    return page.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})")[
        "violations"]


def test_axe_crawl_prints_violations_per_page(deployment, browser):
    """axe-core (WCAG 2 A and AA) on every page of each role: the menu's pages and every kind of page reached from
    them by a link (a document, a handling, a draft, a task, a dossier, a PDF read page by page...), each at phone
    width (390 px) and desktop width (1280 px), with the count per page and width printed: none may have a
    violation, and none may scroll sideways on the phone. One visit per page: the window is resized between the two
    checks (the page's DOM is the same, only the layout changes)."""
    script = axe_script()
    if not script.exists():
        pytest.skip("axe-core is installed by ./congvan test (infra/axe.py, from the npm registry)")
    seed_for_the_crawl(deployment)
    found, pages, seen, wide = [], 0, set(), []
    totals = {"390 px": 0, "1280 px": 0}
    for role, username in ROLES.items():
        phone = Phone(browser, deployment)
        try:
            phone.sign_in(username)
            for path in crawl(phone, seen):
                pages += 1
                for name, viewport in (("390 px", PHONE), ("1280 px", DESKTOP)):
                    phone.page.set_viewport_size(viewport)
                    if viewport is PHONE:
                        width = phone.page.evaluate("document.documentElement.scrollWidth")
                        if width > PHONE["width"]:
                            wide.append(f"{role} {path}: {width} px")
                    violations = axe_violations(phone.page, script)
                    totals[name] += len(violations)
                    summary = ", ".join(f"{v['id']}×{len(v['nodes'])}" for v in violations) or "none"
                    print(f"axe {name} {role} {path}: {len(violations)} violations ({summary})")
                    found += [f"{name} {role} {path}: {v['id']} {v['nodes'][0]['target']}" for v in violations]
                phone.page.set_viewport_size(PHONE)
        finally:
            phone.close()
    print(f"axe: {totals} violations, {pages} pages, {len(seen)} kinds of page")
    assert not found, found
    assert not wide, f"pages wider than the phone: {wide}"


def test_dates_are_typed_with_a_phone_number_pad(deployment, browser):
    """An iOS number pad has digits only: 8 digits ddmmyyyy are a date, and so are dd-mm-yyyy and dd.mm.yyyy."""
    import re

    phone = Phone(browser, deployment)
    page = phone.page
    try:
        phone.sign_in(CLERK)
        phone.go("/tra-cuu")
        page.locator("details summary").click()
        start, end = page.locator("input[name=date_from]"), page.locator("input[name=date_to]")
        assert start.get_attribute("inputmode") == "numeric"
        start.press_sequentially("05032026")
        end.press_sequentially("31-12-2026")
        assert start.input_value() == "05/03/2026"  # shown as dd/mm/yyyy once the field is left
        assert start.evaluate("e => e.validationMessage") == ""
        end.press("Enter")
        page.wait_for_url(re.compile(r"date_from=2026-03-05"))
        assert "date_to=2026-12-31" in page.url  # the server still receives ISO dates
        page.locator("input[name=date_from]").fill("")
        page.locator("input[name=date_from]").press_sequentially("15.06.2026")
        page.locator("input[name=date_from]").press("Enter")
        page.wait_for_url(re.compile(r"date_from=2026-06-15"))
        wrong = page.locator("input[name=date_to]")
        wrong.fill("")
        wrong.press_sequentially("31022026")  # no such day
        assert wrong.evaluate("e => e.validationMessage") == "Nhập ngày theo dạng dd/mm/yyyy, ví dụ 05/03/2026."
    finally:
        phone.close()


def test_the_clerk_receives_a_document_on_a_phone(deployment, browser):
    """The page where the clerk receives a document (audit: 458 px wide on a phone) fits the screen, and axe finds
    nothing on it. "Tiếp nhận và vào sổ" (1.4 screens down in the audit) is the page's main action: on the screen,
    at its bottom, without scrolling."""
    from tests.e2e.helpers import wait_for

    subject = "Về việc báo cáo tình hình sử dụng phần mềm quản lý văn bản trên điện thoại di động năm 2026"
    number = sent_to_h60(deployment, subject)

    phone = Phone(browser, deployment)
    page = phone.page
    try:
        phone.sign_in(CLERK)

        def listed():
            phone.go("/van-ban-den/cho-tiep-nhan")
            return page.get_by_role("row").filter(has_text=f"{number}/SNV-VP").count()

        wait_for(listed, 120, "the document in the clerk's waiting list", every=2)
        row = page.get_by_role("row").filter(has_text=f"{number}/SNV-VP").first
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        row.get_by_role("link").first.click()
        page.get_by_role("button", name="Tiếp nhận và vào sổ").wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        box = page.get_by_role("button", name="Tiếp nhận và vào sổ").bounding_box()
        print(f"document page at 390 px: {width} px wide; 'Tiếp nhận' at {box['y']:.0f} px "
              f"({box['y'] / PHONE['height']:.1f} screens down)")
        assert width <= PHONE["width"], f"the document page is {width} px wide"
        assert box["y"] + box["height"] <= PHONE["height"] and box["height"] >= 44, box
        script = axe_script()
        if script.exists():
            found = [f"{v['id']} {v['nodes'][0]['target']}" for v in axe_violations(page, script)]
            print(f"axe 390 px văn thư /van-ban/…: {len(found)} violations {found}")
            assert not found, found
    finally:
        phone.close()
