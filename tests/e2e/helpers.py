"""Helpers for driving the gateway over HTTP in end-to-end tests."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import httpx
from playwright.sync_api import expect
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def vietnamese_pdf(title: str, body: str) -> bytes:
    if "DejaVuSerif" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSerif", FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("DejaVuSerif", 13)
    c.drawString(72, 770, title)
    c.setFont("DejaVuSerif", 11)
    for i, line in enumerate(body.splitlines()):
        c.drawString(72, 740 - 16 * i, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def signed_in(base_url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
    r = client.post("/dang-nhap", data={"username": username, "password": password, "next": "/"})
    assert r.status_code == 303, f"login of {username} failed: {r.status_code} {r.text[:500]}"
    return client


def wait_for(predicate, timeout: float, what: str, every: float = 0.5):
    """Poll until predicate() returns something truthy (delivery is asynchronous); bounded, never a timing check."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")


def legally_signed_pdf(deployment, organ_id: str, title: str, body: str, notation: str = "UBND-VP",
                       appendices: tuple[bytes, ...] = ()) -> tuple[bytes, list[bytes]]:
    """A PDF with the agency's leader signature and seal (and its sealed appendices), made by the agency's own
    signing service as at issue: what a clerk uploads on "Gửi văn bản", which now checks signatures (issue 18)."""
    from services.common.actor import system_actor
    from services.common.rpc_client import ServiceClient
    from services.common.settings import CommonSettings
    from services.signing.pki import load_pki
    from services.storage.blobs import blob_store

    leader = load_pki(deployment.pki_dir).agency(organ_id)["leaders"][0]["username"]
    store = blob_store(CommonSettings(data_dir=deployment.data_dir), organ_id)
    draft = store.put_bytes(vietnamese_pdf(title, body)).sha256
    extra = [store.put_bytes(a).sha256 for a in appendices]
    actor = system_actor(organ_id, "kiem-thu")
    client = ServiceClient(deployment.agencies()[organ_id]["amqp_uri"], size=1, timeout=120)
    try:
        prepared = client.call("signing", "prepare_draft", actor, draft)
        signed = client.call("signing", "sign_leader", actor, prepared["sha256"], leader, "Ký ban hành")
        sealed = client.call("signing", "fill_and_seal", actor, signed["sha256"], f"Số: 12/{notation}",
                             "ngày 20 tháng 11 năm 2026", f"12/{notation}", extra)
    finally:
        client.close()
    return store.read(sealed["sha256"]), [store.read(a) for a in sealed["appendices"]]


def pick(scope, label: str, text: str) -> None:
    """Choose in a searchable picker (gateway/static/picker.js, or recipient_picker.js which asks the server) as a
    person does: type the name or code, then Enter on the first match unless it is chosen already. `scope` is a
    page or a locator."""
    box = scope.get_by_role("combobox", name=label)
    box.fill(text)
    listbox = scope.locator(f"#{box.get_attribute('aria-controls')}")
    settled(listbox)
    # Enter toggles: a recipient the form already chose (a reply goes back to its sender) stays chosen.
    first = listbox.locator("[role=option]").filter(has_text=text).first
    if first.get_attribute("aria-selected") != "true":
        box.press("Enter")
    box.press("Escape")


def settled(listbox) -> None:
    """The recipients' picker has the server's answer to what was typed (its list is aria-busy until then)."""
    expect(listbox).not_to_have_attribute("aria-busy", "true")


def expect_in_home_panel(page, heading: str, text: str) -> None:
    """The home page's panel under `heading` lists `text`. A panel shows its first rows only (gateway.web.HOME_ROWS,
    most pressing first), and a deployment that other tests share fills the same people's boxes: a panel without
    `text` must then say it is cut ("Hiện … trong số … mục.") and its whole list ("Xem tất cả") must hold `text`.
    The page is left on the home page."""
    named = re.compile(rf"^{re.escape(heading)}\s*\d*$")  # the heading ends with the panel's count
    panel = page.locator("section").filter(has=page.get_by_role("heading", name=named))
    expect(panel).to_be_visible()
    cut = panel.locator(".hint").filter(has_text=re.compile(r"Hiện \d+ trong số \d+ mục"))
    if text in (panel.text_content() or "") or not cut.count():
        expect(panel).to_contain_text(text)
        return
    home = page.url
    panel.get_by_role("link", name="Xem tất cả").click()
    expect(page.get_by_role("main")).to_contain_text(text)
    page.goto(home)


def browser_signed_in(browser, base_url: str, username: str, password: str, *, height: int = 900,
                      timeout_ms: float | None = None, javascript: bool = True):
    """A laptop-sized Playwright page of a person signed in through the login form; `timeout_ms` bounds each of
    the page's steps (Playwright's default otherwise); `javascript=False`: a browser without script."""
    page = browser.new_context(viewport={"width": 1280, "height": height}, locale="vi-VN",
                               java_script_enabled=javascript).new_page()
    if timeout_ms is not None:
        page.set_default_timeout(timeout_ms)
    page.goto(f"{base_url}/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    return page


def browser_home(browser, base_url: str, username: str, password: str, **options: Any):
    """browser_signed_in, once the person's home page (“Xin chào, …”) has come."""
    page = browser_signed_in(browser, base_url, username, password, **options)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    return page


def demo_home(browser, base_url: str, deployment, username: str, **options: Any):
    """browser_home for one of the deployment's demo accounts, with its generated password."""
    from tests.deployment import demo_password

    return browser_home(browser, base_url, username, demo_password(deployment, username), **options)
