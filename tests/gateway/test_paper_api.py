"""REST API of paper, fax and e-mail arrivals and return slips (issue 18 items 1 and 2) on the demo deployment:
read a scan, register it in the same arrival series (once per Idempotency-Key), the paper twin of an electronic
document recognised (Đà Nẵng Đ5.5), a secret document refused with the rule (Đ1.3), an .eml with its files, hostile
files refused with nothing registered, and a Phiếu trả (TP.HCM Đ6.1) downloaded as a PDF."""

from __future__ import annotations

import secrets
import subprocess
import tempfile

from tests.e2e.helpers import wait_for
from tests.e2e.scans import eml, header, text_pdf
from tests.gateway.test_api import H17, send_document, session_for, token_for

TUYEN_QUANG = ("ỦY BAN NHÂN DÂN", "TỈNH TUYÊN QUANG")
SO_Y_TE = ("UBND THÀNH PHỐ ĐÀ NẴNG", "SỞ Y TẾ")
PDF = "application/pdf"


def pdf_text(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(["pdftotext", f.name, "-"], capture_output=True, text=True, check=True).stdout


def problem(r, status: int, code: str) -> dict:
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json", r.text[:1000]
    body = r.json()
    assert body["code"] == code, body
    return body


def fields(number: str, notation: str, subject: str, organ: str, day: str = "2026-11-20", **extra) -> dict:
    return {"code_number": number, "code_notation": notation, "subject": subject, "organ_name": organ,
            "issued_date": day, **extra}


def incoming_total(api) -> int:
    return api.get("/api/v1/incoming", params={"size": 1}).json()["total"]


def test_paper_twin_duplicate_secret_and_one_document_per_key(deployment):
    sender = session_for(deployment, "hoalt.vptq")
    api = token_for(deployment, "namtv.vpdn")
    subject = f"kiểm tra bản giấy của văn bản điện tử {secrets.token_hex(3)}"
    sent = send_document(sender, subject, H17)
    electronic = wait_for(lambda: [d for d in api.get("/api/v1/incoming/waiting-reception",
                                                      params={"size": 100}).json()["items"]
                                   if d["subject"] == subject], 90, "the electronic document at Đà Nẵng")[0]
    detail = api.get(f"/api/v1/incoming/{electronic['id']}").json()
    assert {"WRONG_RECIPIENT", "MISSING_OR_CORRUPT_ATTACHMENT"} <= set(detail["reject_reasons"])

    scan = text_pdf(header(TUYEN_QUANG, f"{sent['number']}/UBND-VP", "Tuyên Quang, ngày 20 tháng 11 năm 2026",
                           subject))
    read = api.post("/api/v1/incoming/paper/read", files={"files": ("ban-giay.pdf", scan, PDF)})
    assert read.status_code == 200, read.text[:1000]
    body = read.json()
    assert body["read_by"] == "text" and body["fields"]["code_number"] == sent["number"]
    assert body["fields"]["code_notation"] == "UBND-VP" and body["fields"]["issued_date"] == "2026-11-20"
    assert body["fields"]["organ_name"] == "Ủy ban nhân dân tỉnh Tuyên Quang"
    assert body["paper_twin_of"]["id"] == electronic["id"]
    before = incoming_total(api)
    twin = api.post("/api/v1/incoming/paper", data={**body["fields"], "subject": subject},
                    files={"files": ("ban-giay.pdf", scan, PDF)})
    assert twin.status_code == 200 and twin.json()["paper_duplicate_of"] == electronic["id"], twin.text[:1000]
    assert twin.json()["history"][-1]["action"] == "paper_copy_received"

    number = str(700 + secrets.randbelow(9000))
    own = fields(number, "SYT-VP", "Về việc phòng chống dịch", "Sở Y tế thành phố Đà Nẵng", channel="fax")
    paper_scan = text_pdf(header(SO_Y_TE, f"{number}/SYT-VP", "Đà Nẵng, ngày 20 tháng 11 năm 2026", "dịch"))
    key = {"Idempotency-Key": f"paper-{secrets.token_hex(6)}"}
    first = api.post("/api/v1/incoming/paper", data=own, files={"files": ("fax.pdf", paper_scan, PDF)}, headers=key)
    assert first.status_code == 201, first.text[:1000]
    doc = first.json()
    assert doc["state"] == "registered" and doc["number"] and doc["source_channel"] == "fax"
    assert [a["role"] for a in doc["attachments"]] == ["scan"] and doc["attachments"][0]["name"] == "fax.pdf"
    again = api.post("/api/v1/incoming/paper", data=own, files={"files": ("fax.pdf", paper_scan, PDF)}, headers=key)
    assert again.status_code == 200 and again.json()["id"] == doc["id"]
    assert incoming_total(api) == before + 1
    warned = api.post("/api/v1/incoming/paper/read", files={"files": ("fax.pdf", paper_scan, PDF)}).json()
    assert [w["other"] for w in warned["warnings"]] == [doc["id"]]

    secret = api.post("/api/v1/incoming/paper", data={**own, "code_number": "1", "secrecy": "MẬT"},
                      files={"files": ("mat.pdf", paper_scan, PDF)})
    assert "Điều 1 khoản 3" in problem(secret, 422, "secret_document")["title"]
    assert incoming_total(api) == before + 1
    for c in (sender, api):
        c.close()


def test_email_hostile_files_and_the_return_slip(deployment):
    api = token_for(deployment, "namtv.vpdn")
    before = incoming_total(api)
    number = str(700 + secrets.randbelow(9000))
    main = text_pdf(header(SO_Y_TE, f"{number}/SYT-NV", "Đà Nẵng, ngày 19 tháng 11 năm 2026", "tiêm chủng"))
    mail = eml("Công văn về tiêm chủng", [("Công văn.pdf", main, PDF),
                                            ("Danh sách.csv", "STT;Tên\n1;An\n".encode(), "text/csv")])
    read = api.post("/api/v1/incoming/paper/read", files={"files": ("thu.eml", mail, "message/rfc822")}).json()
    assert read["fields"]["channel"] == "email" and read["fields"]["code_notation"] == "SYT-NV"
    assert read["fields"]["description"].startswith("Nhận qua thư điện tử từ Văn thư Sở Y tế")
    done = api.post("/api/v1/incoming/paper", data={**read["fields"], "organ_name": "Sở Y tế thành phố Đà Nẵng"},
                    files={"files": ("thu.eml", mail, "message/rfc822")})
    assert done.status_code == 201, done.text[:1000]
    assert done.json()["source_channel"] == "email"
    assert {(a["name"], a["role"]) for a in done.json()["attachments"]} == {("Công văn.pdf", "scan"),
                                                                           ("Danh sách.csv", "attachment")}

    good = fields("5", "SYT-VP", "Về việc thử", "Sở Y tế")
    for name, data, code in (("hong.pdf", b"%PDF-1.7\nrubbish", "bad_pdf"), ("thu.eml", b"\x00junk", "bad_email"),
                             ("chay.exe", b"MZ\x90", "bad_format")):
        problem(api.post("/api/v1/incoming/paper", data=good, files={"files": (name, data, "x/y")}), 422, code)
    assert incoming_total(api) == before + 1

    no_number = text_pdf(header(SO_Y_TE, None, None, "xin ý kiến"))
    refused = api.post("/api/v1/incoming/paper/return", data={"organ_name": "Sở Y tế", "defects": []},
                       files={"files": ("khong-so.pdf", no_number, PDF)})
    assert refused.status_code == 422
    returned = api.post("/api/v1/incoming/paper/return",
                        data={"organ_name": "Sở Y tế thành phố Đà Nẵng", "subject": "Xin ý kiến",
                              "defects": ["NO_NUMBER", "NO_SEAL"], "note": "Đề nghị bổ sung"},
                        files={"files": ("khong-so.pdf", no_number, PDF)},
                        headers={"Idempotency-Key": f"ret-{secrets.token_hex(6)}"})
    assert returned.status_code == 201, returned.text[:1000]
    assert returned.json()["state"] == "rejected" and returned.json()["number"] is None
    slip = api.get(f"/api/v1/incoming/{returned.json()['id']}/return-slip")
    assert slip.status_code == 200 and slip.headers["content-type"] == PDF
    text = pdf_text(slip.content)
    assert "PHIẾU TRẢ VĂN BẢN" in text and "Không đóng dấu" in text and "Điều 6" in text
    problem(api.get(f"/api/v1/incoming/{done.json()['id']}/return-slip"), 422, "not_returned")
    assert incoming_total(api) == before + 1
    api.close()
