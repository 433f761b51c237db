"""Chứng thư số in a real browser (issue 20 item 3): the administrator uploads a person's .pem, the product checks
it against the deployment's roots and lists it with its expiry warning (this one expires in 5 days: "dưới 7 ngày");
a file that is not a certificate is refused with the reason, on the same page; the REST list says the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from playwright.sync_api import expect

from services.signing import pki
from tests.deployment import demo_password
from tests.e2e.helpers import browser_signed_in, signed_in

pytestmark = pytest.mark.browser
ADMIN, HOLDER, HOLDER_NAME = "manhhd.vptq", "trangdt.thtq", "Đỗ Thu Trang"


def test_the_admin_enrols_a_certificate_and_sees_its_expiry_warning(deployment, browser, artifacts_dir, tmp_path):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    made = pki.load_pki(deployment.pki_dir)
    issued = pki.issue_signer(made, HOLDER_NAME, org="Ủy ban nhân dân tỉnh Tuyên Quang",
                              not_after=datetime.now(UTC) + timedelta(days=5, hours=12))
    pem = tmp_path / "chung-thu.pem"
    pem.write_bytes(issued.cert.public_bytes(Encoding.PEM))
    (tmp_path / "hong.cer").write_bytes(b"khong phai chung thu")

    page = browser_signed_in(browser, base, ADMIN, demo_password(deployment, ADMIN))
    page.goto(f"{base}/quan-tri/chung-thu-so")
    page.get_by_label("Người giữ chứng thư (với chứng thư cá nhân)").select_option(label=f"{HOLDER_NAME} ({HOLDER})")
    page.get_by_label("Tệp chứng thư số (.cer hoặc .pem)").set_input_files(str(tmp_path / "hong.cer"))
    page.get_by_role("button", name="Kiểm tra và đăng ký").click()
    expect(page.get_by_role("alert").filter(has_text="không phải chứng thư số X.509")).to_be_visible()

    page.get_by_label("Người giữ chứng thư (với chứng thư cá nhân)").select_option(label=f"{HOLDER_NAME} ({HOLDER})")
    page.get_by_label("Tệp chứng thư số (.cer hoặc .pem)").set_input_files(str(pem))
    page.get_by_role("button", name="Kiểm tra và đăng ký").click()
    expect(page.get_by_role("status")).to_have_text("Đã kiểm tra và đăng ký chứng thư số.")
    row = page.locator("#chung-thu-da-dang-ky tr").filter(has_text=format(issued.cert.serial_number, "x"))
    expect(row).to_contain_text(f"{HOLDER_NAME} ({HOLDER})")
    expect(row).to_contain_text("dưới 7 ngày")
    page.screenshot(path=str(artifacts_dir / "certificates.png"), full_page=True)

    admin = signed_in(base, ADMIN, demo_password(deployment, ADMIN))
    try:
        listed = admin.get("/api/v1/certificates")
        assert listed.status_code == 200, listed.text
        mine = [c for c in listed.json() if c["serial"] == format(issued.cert.serial_number, "x")]
        assert mine and mine[0]["days_left"] == 5 and "dưới 7 ngày" in mine[0]["warning_vi"]
    finally:
        admin.close()
