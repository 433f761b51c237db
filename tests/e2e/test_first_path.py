"""The first path: a clerk of UBND tỉnh Tuyên Quang sends a PDF to UBND thành phố Đà Nẵng through the gateway; it
crosses the Tuyên Quang hub, the national hub and the Đà Nẵng hub and waits for reception in Đà Nẵng, with the same
bytes and the trace of hops."""

from __future__ import annotations

import hashlib
import re

from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf, wait_for

SENDER, RECEIVER = "000.00.00.H60", "000.00.00.H17"


def test_document_crosses_three_hubs_and_waits_for_reception(deployment):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    pdf = vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", "Về việc phối hợp tổ chức Hội nghị liên thông văn bản\n"
                         "Kính gửi: Ủy ban nhân dân thành phố Đà Nẵng")
    subject = "Về việc phối hợp tổ chức Hội nghị liên thông văn bản điện tử"

    sender = signed_in(base, "hoalt.vptq", demo_password(deployment, "hoalt.vptq"))
    form = sender.get("/van-ban-di/gui")
    assert form.status_code == 200
    # the picker carries no directory: it asks the server as the clerk types (gateway/recipient_picker.py)
    found = sender.get("/api/v1/directory/agencies", params={"q": "da nang"}).json()
    assert {"organ_id": RECEIVER, "name": "Ủy ban nhân dân thành phố Đà Nẵng"} in found, found
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', form.text).group(1)
    assert len(number) >= 2 and int(number) >= 1  # the register's next number, shown as 01, 02, ... (NĐ 30)
    sent = sender.post("/van-ban-di/gui", data={
        "csrf_token": csrf_of(form.text), "accept_not_legally_valid": "true",
        "code_number": number, "code_notation": "UBND-VX",
        "promulgation_date": "2026-11-20", "type_code": "CV", "priority": "0", "subject": subject,
        "signer_full_name": "Nguyễn Văn An", "signer_position": "Chủ tịch", "recipients": [RECEIVER],
    }, files={"file": ("Công văn 12-UBND-VX.pdf", pdf, "application/pdf")})
    assert sent.status_code == 303, sent.text[:2000]
    sent_page = sender.get(sent.headers["location"])
    assert subject in sent_page.text and f"{number}/UBND-VX" in sent_page.text

    receiver = signed_in(base, "namtv.vpdn", demo_password(deployment, "namtv.vpdn"))

    def arrived():
        page = receiver.get("/van-ban-den/cho-tiep-nhan").text
        return re.search(rf'href="/van-ban/([^"]+)">{number}/UBND-VX', page) if subject in page else None

    doc_id = wait_for(arrived, 90, "the document in Đà Nẵng's waiting-for-reception list").group(1)
    page = receiver.get(f"/van-ban/{doc_id}").text
    assert subject in page and "Ủy ban nhân dân tỉnh Tuyên Quang" in page

    hops = re.findall(r'<span class="hop">([^<]+)</span>', page)
    assert hops == ["Ủy ban nhân dân tỉnh Tuyên Quang", "Trục liên thông văn bản tỉnh Tuyên Quang",
                    "Trục liên thông văn bản quốc gia",
                    "Trục liên thông văn bản thành phố Đà Nẵng"], hops
    assert "hub.H60" not in page and "application/pdf" not in page  # staff read names, not codes (issue 18)

    link = re.search(rf'href="(/tep/{doc_id}/[0-9a-f]{{64}})"', page)
    assert link, "no downloadable file on the received document"
    downloaded = receiver.get(link.group(1))
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.content).hexdigest() == hashlib.sha256(pdf).hexdigest()
    assert link.group(1).endswith(hashlib.sha256(pdf).hexdigest())

    def status_01_at_sender():
        text = sender.get(sent.headers["location"]).text
        return "Đã đến" in text

    wait_for(status_01_at_sender, 60, "status 01 (Đã đến) back at the sender")
