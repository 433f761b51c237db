"""REST API /api/v1: the OpenAPI document and problem+json in-process; lists, details, statuses and the agency
boundary against the real deployment (fixture `deployment`)."""

from __future__ import annotations

import re
import secrets

import httpx

from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf, wait_for
from tests.gateway.conftest import login

H60, H17 = "000.00.00.H60", "000.00.00.H17"


# -- helpers shared with the security tests ------------------------------------------------------------------

def base_url(dep) -> str:
    return f"http://127.0.0.1:{dep.topology.gateway_port}"


def session_for(dep, username: str) -> httpx.Client:
    return signed_in(base_url(dep), username, demo_password(dep, username))


def csrf_token_of(client: httpx.Client) -> str:
    """The session's CSRF token, from a page that calls no agency service (the password form)."""
    return csrf_of(client.get("/doi-mat-khau").text)


def token_for(dep, username: str, label: str = "kiểm thử") -> httpx.Client:
    """An API client holding a bearer token (and no cookie) for the demo user."""
    web = session_for(dep, username)
    try:
        r = web.post("/api/v1/tokens", json={"label": label}, headers={"x-csrf-token": csrf_token_of(web)})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
    finally:
        web.close()
    return httpx.Client(base_url=base_url(dep), timeout=60, headers={"authorization": f"Bearer {token}"})


def busy(r: httpx.Response) -> bool:
    """The gateway's documented answer when an agency service did not reply in time (problem+json 503)."""
    return r.status_code == 503 and "service_unavailable" in r.text


def request_retrying(client: httpx.Client, method: str, path: str, attempts: int = 4, **kwargs) -> httpx.Response:
    """A request, again after a 503 "service_unavailable": a registry stalled by SQLite's write lock (reported with
    issue 8: the search indexer holds the lock while it reads a PDF) answers 503 for 30 to 90 s. Only for requests
    that change nothing or are refused anyway; the last 503 is returned as it is."""
    for _ in range(attempts - 1):
        try:
            r = client.request(method, path, **kwargs)
        except httpx.ReadTimeout:  # a page calling two stalled services takes longer than the client waits
            continue
        if not busy(r):
            return r
    return client.request(method, path, **kwargs)


def send_document(client: httpx.Client, subject: str, recipient: str, notation: str = "UBND-VP") -> dict:
    """The clerk sends a signed PDF from the web form; returns the outgoing document's id, number and PDF."""
    form = request_retrying(client, "GET", "/van-ban-di/gui")
    assert form.status_code == 200, form.text[:500]
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', form.text).group(1)
    pdf = vietnamese_pdf("ỦY BAN NHÂN DÂN", f"{subject}\nKính gửi: nơi nhận {secrets.token_hex(4)}")
    sent = client.post("/van-ban-di/gui", data={
        "csrf_token": csrf_of(form.text), "accept_not_legally_valid": "true",
        "code_number": number, "code_notation": notation,
        "promulgation_date": "2026-11-20", "type_code": "CV", "priority": "0", "subject": subject,
        "signer_full_name": "Nguyễn Văn An", "signer_position": "Chủ tịch", "recipients": [recipient],
    }, files={"file": ("van-ban.pdf", pdf, "application/pdf")})
    assert sent.status_code == 303, sent.text[:2000]
    doc_id = re.match(r"/van-ban/([^?]+)", sent.headers["location"]).group(1)
    return {"id": doc_id, "number": number, "pdf": pdf}


# -- in-process: the contract ------------------------------------------------------------------------------------

def test_openapi_documents_every_route_with_models_tags_and_problem_errors(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/v1/incoming", "/api/v1/incoming/{doc_id}", "/api/v1/incoming/waiting-reception",
                 "/api/v1/outgoing", "/api/v1/outgoing/{doc_id}", "/api/v1/outgoing/{doc_id}/statuses",
                 "/api/v1/registers", "/api/v1/drafts", "/api/v1/tasks", "/api/v1/me"):
        op = paths[path]["get"]
        assert op["tags"] and op["summary"], path
        assert "$ref" in str(op["responses"]["200"]["content"]["application/json"]["schema"]), path
        assert set(op["responses"]["401"]["content"]) == {"application/problem+json"}, path
    assert not any(p.startswith("/van-ban") or p.startswith("/quan-tri") for p in paths)  # pages stay out
    params = {p["name"] for p in paths["/api/v1/incoming"]["get"]["parameters"]}
    assert {"page", "size"} <= params
    assert "token" in schema["components"]["securitySchemes"]


def test_framework_errors_are_problem_json_in_vietnamese(client):
    login(client, "hoalt.vp")
    unknown = client.get("/api/v1/khong-co")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["title"] == "Không tìm thấy trang hoặc mục được yêu cầu."
    bad = client.get("/api/v1/incoming", params={"size": 1000})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["title"] == "Dữ liệu gửi lên không hợp lệ." and bad.json()["errors"][0]["field"] == "size"
    # pages answer with a Vietnamese page (tests/gateway/test_errors.py)
    assert client.get("/khong-co").headers["content-type"].startswith("text/html")


def test_without_backends_the_api_says_the_service_is_not_ready(client):
    login(client, "hoalt.vp")
    r = client.get("/api/v1/registers")
    assert r.headers["content-type"] == "application/problem+json" and r.status_code in (404, 503)
    assert r.json()["title"]


# -- against the deployment -------------------------------------------------------------------------------------

def test_outgoing_list_detail_and_statuses_follow_the_document(deployment):
    clerk = session_for(deployment, "hoalt.vptq")
    api = token_for(deployment, "hoalt.vptq")
    subject = f"Về việc thử API liên thông {secrets.token_hex(4)}"
    sent = send_document(clerk, subject, H17)

    registers = api.get("/api/v1/registers", params={"direction": "outgoing"}).json()
    assert registers and all(r["direction"] == "outgoing" for r in registers)

    listed = api.get("/api/v1/outgoing", params={"text": subject, "size": 5}).json()
    assert listed["total"] == 1 and listed["page"] == 1 and listed["size"] == 5
    assert listed["items"][0]["id"] == sent["id"] and listed["items"][0]["subject"] == subject
    paged = api.get("/api/v1/outgoing", params={"size": 1, "page": 1}).json()
    assert len(paged["items"]) == 1 and paged["total"] >= 1

    detail = api.get(f"/api/v1/outgoing/{sent['id']}").json()
    assert detail["subject"] == subject and detail["attachments"] and detail["history"]
    assert [r["organ_id"] for r in detail["recipients"]] == [H17]
    assert api.get(f"/api/v1/incoming/{sent['id']}").status_code == 404  # not an incoming one

    def arrived():
        statuses = api.get(f"/api/v1/outgoing/{sent['id']}/statuses").json()["recipients"]
        return statuses if statuses[0]["status_code"] == "01" else None

    statuses = wait_for(arrived, 90, "status 01 back at the sender")
    assert statuses[0]["status_label"] == "Đã đến"

    receiver = token_for(deployment, "namtv.vpdn")
    waiting = wait_for(lambda: [d for d in receiver.get("/api/v1/incoming/waiting-reception",
                                                        params={"size": 100}).json()["items"]
                                if d["subject"] == subject], 60, "the document waiting for reception")
    assert waiting[0]["state"] == "waiting_reception"
    # the recipient's own copy has its own id; the sender's id means nothing to it
    assert receiver.get(f"/api/v1/outgoing/{sent['id']}").status_code == 404
    for c in (clerk, api, receiver):
        c.close()


def test_another_agency_and_the_wrong_role_are_refused_as_problem_json(deployment):
    clerk = session_for(deployment, "hoalt.vptq")
    sent = send_document(clerk, f"Văn bản riêng của Tuyên Quang {secrets.token_hex(4)}", "000.00.00.G22")
    other = token_for(deployment, "namtv.vpdn")
    r = other.get(f"/api/v1/outgoing/{sent['id']}/statuses")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert "Không tìm thấy" in r.json()["title"]
    specialist = token_for(deployment, "trangdt.thtq")
    refused = specialist.get("/api/v1/incoming/waiting-reception")
    assert refused.status_code == 403 and "không có quyền" in refused.json()["title"]
    mine = specialist.get("/api/v1/tasks").json()
    assert mine["page"] == 1 and isinstance(mine["items"], list)
    assert specialist.get("/api/v1/drafts").status_code == 200
    anonymous = httpx.get(f"{base_url(deployment)}/api/v1/outgoing")
    assert anonymous.status_code == 401 and anonymous.json()["title"] == "Cần đăng nhập hoặc mã truy cập."
    for c in (clerk, other, specialist):
        c.close()


def test_a_documents_file_is_downloaded_and_read_page_by_page_only_by_its_agency(deployment):
    """The API's file routes: the bytes (and a range of them), each page's text and image, as the web's reader on a
    phone shows them; another agency's token gets 404 for the same path."""
    import hashlib

    clerk = session_for(deployment, "hoalt.vptq")
    api = token_for(deployment, "hoalt.vptq")
    subject = f"Về việc đọc tệp qua API {secrets.token_hex(4)}"
    sent = send_document(clerk, subject, H17)
    attachment = api.get(f"/api/v1/outgoing/{sent['id']}").json()["attachments"][0]
    base = f"/api/v1/documents/{sent['id']}/files/{attachment['sha256']}"

    whole = api.get(base)
    assert whole.status_code == 200, whole.text[:500]
    assert hashlib.sha256(whole.content).hexdigest() == attachment["sha256"]
    assert "attachment; filename*=UTF-8''" in whole.headers["content-disposition"]
    head = api.get(base, headers={"range": "bytes=0-4"})
    assert head.status_code == 206 and head.content == b"%PDF-"

    pages = api.get(f"{base}/pages").json()
    assert pages["sha256"] == attachment["sha256"] and not pages["capped"] and len(pages["pages"]) >= 1
    assert subject in " ".join(pages["pages"][0]["text"].split())
    image = api.get(pages["pages"][0]["image"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    missing = api.get(f"{base}/pages/{len(pages['pages']) + 1}")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"

    # its signatures, as the document page judges them (long after issue, the archive stamps decide)
    report = api.get(f"{base}/signatures").json()
    assert report["sha256"] == attachment["sha256"] and report["verdict"] in ("valid", "incomplete", "unsigned")
    assert report["proven_by_archive_stamps"] == [] and report["long_term"] == []

    other = token_for(deployment, "namtv.vpdn")
    for path in (base, f"{base}/pages", pages["pages"][0]["image"], f"{base}/signatures"):
        refused = other.get(path)
        assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json", path
    for c in (clerk, api, other):
        c.close()
