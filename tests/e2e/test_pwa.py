"""The installable web app in Chromium (through the demo deployment, 390×844): Chromium's own install criteria
(no installability error: manifest, icons, a service worker with a fetch handler controlling the page), then,
without a network, the home list and the document last opened are read from the device under a banner saying
so, a page never opened says it cannot be shown, and a form is not sent and says so."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests import screenshots
from tests.e2e.helpers import wait_for
from tests.e2e.test_guide_screens import CLERK, PHONE
from tests.e2e.test_phone_layout import Phone, sent_to_h60

pytestmark = pytest.mark.browser
OFFLINE = "Không có mạng: đây là bản đã lưu trên máy"


def test_install_criteria_and_reading_offline(deployment, browser, artifacts_dir):
    phone = Phone(browser, deployment)
    page = phone.page
    try:
        manifest = page.request.get(f"{phone.base}/manifest.webmanifest")
        assert manifest.ok and manifest.headers["content-type"].startswith("application/manifest+json")
        data = manifest.json()
        assert data["short_name"] == "Công Văn" and data["lang"] == "vi" and data["display"] == "standalone"
        assert data["start_url"] == "/" and data["scope"] == "/"
        sizes = set()
        for icon in data["icons"]:
            r = page.request.get(f"{phone.base}{icon['src']}")
            image = Image.open(io.BytesIO(r.body()))
            assert r.ok and image.format == "PNG" and f"{image.width}x{image.height}" == icon["sizes"], icon
            sizes.add((icon["sizes"], icon["purpose"]))
        assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes

        phone.sign_in(CLERK)
        page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # the first page loaded before the worker; from now on it controls every page
        assert page.evaluate("() => !!navigator.serviceWorker.controller"), "the service worker does not control"
        assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
        cdp = phone.context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        # A Playwright context is an incognito profile, where Chromium installs nothing: that one is the test's.
        errors = [e for e in errors if e["errorId"] != "in-incognito"]
        assert errors == [], errors
        waiting = page.get_attribute("h1[data-waiting]", "data-waiting")
        assert waiting is not None and waiting.isdigit()  # the app badge's count (layout.js, Badging API)
        home_text = page.locator("main h1").inner_text()

        # A document opened online: one sent to the clerk's agency for this test.
        number = sent_to_h60(deployment, "Về việc đọc văn bản trên điện thoại khi không có mạng")

        def listed():
            phone.go("/van-ban-den/cho-tiep-nhan")
            return page.get_by_role("row").filter(has_text=f"{number}/SNV-VP").count()

        wait_for(listed, 120, "the document in the clerk's waiting list", every=2)
        href = page.get_by_role("row").filter(has_text=f"{number}/SNV-VP").first.get_by_role("link").first \
            .get_attribute("href")
        phone.go(href)
        title = page.locator("main h1").inner_text()
        phone.go("/")

        phone.context.set_offline(True)
        page.goto(f"{phone.base}/")
        banner = page.locator(".notice.offline")
        assert OFFLINE in banner.inner_text() and page.locator("main h1").inner_text() == home_text
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts_dir / "phone-ngoai-tuyen.png"))
        screenshots.publish([artifacts_dir / "phone-ngoai-tuyen.png"])
        page.goto(f"{phone.base}{href}")
        assert OFFLINE in page.locator(".notice.offline").inner_text()
        assert page.locator("main h1").inner_text() == title
        page.goto(f"{phone.base}/bao-cao")  # never opened: not kept
        assert "chưa được lưu trên máy" in page.locator("main").inner_text()

        # Nothing is sent while offline without saying so: the form stays, the page says it was not sent.
        page.goto(f"{phone.base}/")
        logout = page.locator("form[action='/dang-xuat'] button")
        page.get_by_role("button", name="Danh mục", exact=True).click()
        logout.click()
        # layout.js stops the post where the browser knows it is offline; otherwise the service worker answers it.
        page.get_by_role("alert").filter(has_text=re.compile(r"[Cc]hưa (được )?gửi")).first.wait_for()
        phone.context.set_offline(False)
        phone.go("/")
        assert page.get_by_role("heading", level=1).filter(has_text="Xin chào").count() == 1  # still signed in
    finally:
        phone.close()
