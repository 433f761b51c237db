"""POST /api/v1/documents/{id}/copies on the demo deployment: a sao y of an issued document with two sealed
appendices returns the copy with its three files (ids, names, sizes, each verdict), sealed by the agency; the same
Idempotency-Key again returns the same copy; bad input, the wrong role and another agency's document are refused."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta

import httpx

from services.common.clock import now_utc, vn_date
from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, legally_signed_pdf, signed_in, vietnamese_pdf, wait_for
from tests.gateway.test_api import base_url, csrf_token_of

G22, H60, H17 = "000.00.00.G22", "000.00.00.H60", "000.00.00.H17"
CLERK, ADMIN, LEADER = "thunt.vpcp", "taidv.vpcp", "longtd.vpcp"
OTHER_CLERK = "hoalt.vptq"   # UBND tỉnh Tuyên Quang's


def open_copies_register(admin: httpx.Client) -> None:
    opened = admin.post("/api/v1/registers", headers={"x-csrf-token": csrf_token_of(admin)},
                        json={"direction": "copies", "year": vn_date(now_utc()).year})
    assert opened.status_code in (201, 409), opened.text


def send_with_appendices(deployment, clerk: httpx.Client, organ_id: str, organ_name: str, subject: str,
                         appendices: int, recipient: str) -> dict:
    """An issued outgoing document with its sealed appendices, sent over REST: its id, number and files' names."""
    web = clerk.get("/van-ban-di/gui").text
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', web).group(1)
    extra = tuple(vietnamese_pdf(f"PHỤ LỤC {i:02d}", subject) for i in range(1, appendices + 1))
    signed, sealed = legally_signed_pdf(deployment, organ_id, organ_name, subject, appendices=extra)
    sent = clerk.post("/api/v1/outgoing", headers={"x-csrf-token": csrf_of(web), "Idempotency-Key": uuid.uuid4().hex},
                      data={"code_number": number, "code_notation": "UBND-VP", "type_code": "CV",
                            "promulgation_date": vn_date(now_utc()).isoformat(), "subject": subject,
                            "recipients": [recipient]},
                      files=[("file", ("da-ky.pdf", signed, "application/pdf"))]
                      + [("appendices", (f"phu-luc-{i}.pdf", data, "application/pdf"))
                         for i, data in enumerate(sealed, start=1)])
    assert sent.status_code == 201, sent.text
    doc = sent.json()
    return {"id": doc["id"], "number": number,
            "appendices": [a["name"] for a in doc["attachments"] if a["role"].startswith("appendix")]}


def copy_of(clerk: httpx.Client, doc_id: str, form: str = "SY", key: str | None = None) -> httpx.Response:
    """POST /documents/{id}/copies as a client should: on 503 ("dịch vụ ký số không phản hồi … vui lòng thử lại
    sau", sealing outlasted the call on a loaded machine) the same request again, with the same Idempotency-Key
    (the seal made meanwhile is reused, the copy is made once)."""
    headers = {"x-csrf-token": csrf_token_of(clerk), "Idempotency-Key": key or uuid.uuid4().hex}
    for _ in range(5):
        made = clerk.post(f"/api/v1/documents/{doc_id}/copies", data={"form": form}, headers=headers)
        if made.status_code != 503:
            return made
        time.sleep(5)
    return made


def sent_and_arrived(clerk: httpx.Client, copy_id: str, organ_id: str, receiver: httpx.Client,
                     patience: float = 90) -> dict:
    """POST /copies/{id}/send to one agency, then the copy as that agency's clerk sees it, waiting for reception."""
    sent = clerk.post(f"/api/v1/copies/{copy_id}/send", json={"recipients": [organ_id]},
                      headers={"x-csrf-token": csrf_token_of(clerk)})
    assert sent.status_code == 200, sent.text
    document_id = sent.json()["document_id"]
    return wait_for(lambda: [d for d in receiver.get("/api/v1/incoming/waiting-reception",
                                                     params={"size": 100}).json()["items"]
                             if d["document_id"] == document_id], patience, f"the copy at {organ_id}")[0]


def sent_and_copied(deployment, clerk: httpx.Client, admin: httpx.Client, subject: str,
                    appendices: int) -> tuple[dict, dict]:
    """A document Văn phòng Chính phủ sent to UBND tỉnh Tuyên Quang and its sao y: (the original, the copy)."""
    open_copies_register(admin)
    source = send_with_appendices(deployment, clerk, G22, "VĂN PHÒNG CHÍNH PHỦ",
                                  f"{subject} (mã {uuid.uuid4().hex[:6]})", appendices, H60)
    made = copy_of(clerk, source["id"])
    assert made.status_code == 201, made.text
    return source, made.json()


def clients(deployment, *usernames: str) -> tuple[httpx.Client, ...]:
    """Signed-in sessions of the demo's people, in the order named."""
    return tuple(signed_in(base_url(deployment), u, demo_password(deployment, u)) for u in usernames)


def test_a_sao_y_over_rest_returns_the_copy_with_each_sealed_file(deployment):
    clerk, admin, leader, other = clients(deployment, CLERK, ADMIN, LEADER, OTHER_CLERK)
    try:
        open_copies_register(admin)
        source = send_with_appendices(deployment, clerk, G22, "VĂN PHÒNG CHÍNH PHỦ",
                                      f"Về việc sao kèm phụ lục (mã {uuid.uuid4().hex[:6]})", 2, H60)
        assert len(source["appendices"]) == 2
        headers = {"x-csrf-token": csrf_token_of(clerk), "Idempotency-Key": uuid.uuid4().hex}
        made = copy_of(clerk, source["id"], key=headers["Idempotency-Key"])
        assert made.status_code == 201, made.text
        copy = made.json()
        assert copy["direction"] == "copies" and copy["code_notation"].startswith("SY-")
        files = copy["attachments"]
        assert [f["role"] for f in files] == ["signed", "appendix_signed", "appendix_signed"]
        assert sorted(f["name"] for f in files[1:]) == sorted(source["appendices"])
        assert [f["name"][-14:] for f in files[1:]] == ["Phụ lục 01.pdf", "Phụ lục 02.pdf"]   # the source's order
        for f in files:
            assert f["id"] and f["size"] > 0 and f["legally_valid"] is True and f["signature_label"] == "Hợp lệ", f
            assert [s["field"] for s in f["verification"]["signatures"]] == ["DauBanSao"]
        # the same request again: the same copy, nothing new in the copies register
        again = clerk.post(f"/api/v1/documents/{source['id']}/copies", headers=headers, data={"form": "SY"})
        assert again.status_code == 201 and again.json()["id"] == copy["id"], again.text
        assert again.headers.get("idempotency-replayed") == "true"
        listed = [d["id"] for d in clerk.get("/api/v1/copies", params={"size": 100}).json()["items"]]
        assert listed.count(copy["id"]) == 1
        shown = clerk.get(f"/api/v1/copies/{copy['id']}").json()["attachments"]
        assert [(f["id"], f["sha256"], f["signature_label"]) for f in shown] == [
            (f["id"], f["sha256"], "Hợp lệ") for f in files]

        bad = clerk.post(f"/api/v1/documents/{source['id']}/copies", headers={"x-csrf-token": csrf_token_of(clerk)},
                         data={"form": "XX"})
        assert bad.status_code == 422
        again_copy = clerk.post(f"/api/v1/documents/{copy['id']}/copies",
                                headers={"x-csrf-token": csrf_token_of(clerk)}, data={"form": "SY"})
        assert again_copy.status_code == 422 and "Chỉ sao văn bản" in again_copy.text   # a copy is not copied
        refused = leader.post(f"/api/v1/documents/{source['id']}/copies",
                              headers={"x-csrf-token": csrf_token_of(leader)}, data={"form": "SY"})
        assert refused.status_code == 403, refused.text
        foreign = other.post(f"/api/v1/documents/{source['id']}/copies",
                             headers={"x-csrf-token": csrf_token_of(other)}, data={"form": "SY"})
        assert foreign.status_code == 404, foreign.text
        assert other.get(f"/api/v1/copies/{copy['id']}").status_code == 404
    finally:
        for client in (clerk, admin, leader, other):
            client.close()


def test_a_paper_arrival_is_copied_from_its_scan_over_rest(deployment):
    """NĐ 30 Điều 25.1.c (sao từ văn bản giấy sang văn bản điện tử: số hóa văn bản giấy và ký số của cơ quan): a
    paper arrival registered over REST is copied; its scan becomes the copy's main file, sealed by the agency."""
    clerk, admin = clients(deployment, CLERK, ADMIN)
    try:
        open_copies_register(admin)
        scan = vietnamese_pdf("BỘ NỘI VỤ", f"Công văn giấy {uuid.uuid4().hex[:6]}")
        number = str(100 + uuid.uuid4().int % 9000)
        arrived = clerk.post("/api/v1/incoming/paper", headers={"x-csrf-token": csrf_token_of(clerk)},
                             data={"code_number": number, "code_notation": "BNV-VP", "subject": "Về việc bản giấy",
                                   "organ_name": "Bộ Nội vụ", "issued_date": vn_date(now_utc()).isoformat()},
                             files={"files": ("ban-giay.pdf", scan, "application/pdf")})
        assert arrived.status_code == 201, arrived.text
        paper = arrived.json()
        assert paper["state"] == "registered" and [a["role"] for a in paper["attachments"]] == ["scan"]
        made = copy_of(clerk, paper["id"])
        assert made.status_code == 201, made.text
        copy = made.json()
        assert copy["code_notation"].startswith("SY-") and [f["role"] for f in copy["attachments"]] == ["signed"]
        [sealed] = copy["attachments"]
        assert sealed["legally_valid"] is True and sealed["signature_label"] == "Hợp lệ", sealed
        assert sealed["sha256"] != paper["attachments"][0]["sha256"]
        assert [s["field"] for s in sealed["verification"]["signatures"]] == ["DauBanSao"]
        assert [(link["kind"], link["to"]) for link in copy["links"]] == [("copy_of", paper["id"])]
    finally:
        for client in (clerk, admin):
            client.close()


def test_a_copy_is_sent_over_the_interconnect_once_per_recipient(deployment):
    """POST /api/v1/copies/{id}/send: Văn phòng Chính phủ sends a sao y with two appendices to UBND tỉnh Tuyên Quang
    through the real edges and hubs; Tuyên Quang's clerk sees a copy with every file in order, the 01 comes back to
    the copy's line; sent again, nothing leaves; sent to a recipient group, only the member not sent to yet gets it;
    the wrong role and another agency are refused."""
    clerk, admin, leader, other = clients(deployment, CLERK, ADMIN, LEADER, OTHER_CLERK)
    try:
        source, copy = sent_and_copied(deployment, clerk, admin, "Về việc gửi bản sao", 2)

        url = f"/api/v1/copies/{copy['id']}/send"
        sent = clerk.post(url, json={"recipients": [H60]},
                          headers={"x-csrf-token": csrf_token_of(clerk), "Idempotency-Key": uuid.uuid4().hex})
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert body["sent_to"] == [H60] and not body["duplicate"]
        assert body["document_id"].startswith(f"{G22},") and body["document_id"].endswith(
            f"/{copy['code_notation']}")
        assert [(r["organ_id"], r["channel"], r["status_code"]) for r in body["recipients"]] == [
            (H60, "interconnect", None)]

        receiver = other
        number = f"{copy['code_number']}/{copy['code_notation']}"
        arrived = wait_for(lambda: [d for d in receiver.get("/api/v1/incoming/waiting-reception",
                                                            params={"size": 100}).json()["items"]
                                    if d["document_id"] == body["document_id"]], 90, "the copy at Tuyên Quang")[0]
        assert arrived["copy_form"] == "SY" and arrived["number_and_notation"] == number
        assert arrived["organ_id"] == G22
        received = receiver.get(f"/api/v1/incoming/{arrived['id']}").json()
        assert [a["sha256"] for a in received["attachments"]] == [f["sha256"] for f in copy["attachments"]]
        assert [a["role"] for a in received["attachments"]] == ["main", "appendix", "appendix"]
        assert received["legally_valid"] is True and received["content"].startswith(
            f"Sao y văn bản số {source['number'].zfill(2)}/UBND-VP")
        page = receiver.get(f"/van-ban/{arrived['id']}").text
        assert 'id="la-ban-sao"' in page and "Bản sao</strong> (sao y)" in page

        def arrived_back():
            lines = clerk.get(f"/api/v1/copies/{copy['id']}/statuses").json()["recipients"]
            return lines if lines[0]["status_code"] == "01" else None

        [line] = wait_for(arrived_back, 90, "status 01 back at the copy")
        assert line["status_label"] == "Đã đến"

        # again, with another key: the business operation (this copy, this recipient) was done, nothing is sent
        again = clerk.post(url, json={"recipients": [H60]},
                           headers={"x-csrf-token": csrf_token_of(clerk), "Idempotency-Key": uuid.uuid4().hex})
        assert again.status_code == 200 and again.json()["duplicate"] and again.json()["sent_to"] == []
        history = [h["action"] for h in clerk.get(f"/api/v1/copies/{copy['id']}").json()["history"]]
        assert history.count("copy_sent") == 1

        # to a recipient group (as an outgoing document is sent): its members are added, each once; the one sent
        # to already is left out, the other gets the copy
        group = admin.post("/api/v1/recipient-groups", json={"name": f"Bản sao {uuid.uuid4().hex[:6]}",
                                                              "members": [H60, H17]},
                           headers={"x-csrf-token": csrf_token_of(admin)})
        assert group.status_code == 201, group.text
        to_group = clerk.post(url, json={"recipient_groups": [group.json()["id"]]},
                              headers={"x-csrf-token": csrf_token_of(clerk), "Idempotency-Key": uuid.uuid4().hex})
        assert to_group.status_code == 200, to_group.text
        assert to_group.json()["sent_to"] == [H17] and to_group.json()["skipped_recipients"] == []
        assert sorted(r["organ_id"] for r in to_group.json()["recipients"]) == sorted([H60, H17])
        nobody = clerk.post(url, json={"recipients": [], "recipient_groups": []},
                            headers={"x-csrf-token": csrf_token_of(clerk)})
        assert nobody.status_code == 422 and "Nơi nhận" in nobody.json()["detail"], nobody.text

        unknown = clerk.post(url, json={"recipients": ["000.00.99.Z99"]},
                             headers={"x-csrf-token": csrf_token_of(clerk)})
        assert unknown.status_code == 422, unknown.text
        refused = leader.post(url, json={"recipients": [H60]}, headers={"x-csrf-token": csrf_token_of(leader)})
        assert refused.status_code == 403, refused.text
        foreign = other.post(url, json={"recipients": [G22]}, headers={"x-csrf-token": csrf_token_of(other)})
        assert foreign.status_code == 404, foreign.text
        assert other.get(f"/api/v1/copies/{copy['id']}/statuses").status_code == 404
        not_a_copy = clerk.post(f"/api/v1/copies/{source['id']}/send", json={"recipients": [H60]},
                                headers={"x-csrf-token": csrf_token_of(clerk)})
        assert not_a_copy.status_code == 404, not_a_copy.text
    finally:
        for client in (clerk, admin, leader, other):
            client.close()


def test_a_sent_copy_is_taken_back_and_updated_over_rest(deployment):
    """POST /api/v1/copies/{id}/changes, as /outgoing/{id}/changes: Văn phòng Chính phủ asks UBND tỉnh Tuyên Quang to
    give back a copy it sent (13, once for two calls with one Idempotency-Key); Tuyên Quang's clerk finds it among
    the requests and refuses; the 16 comes back to the copy's line. Then an update of its trích yếu, agreed: the 15
    comes back. A copy sent to nobody, the wrong route, the wrong role and another agency are refused."""
    clerk, admin, leader, other = clients(deployment, CLERK, ADMIN, LEADER, OTHER_CLERK)
    try:
        open_copies_register(admin)
        source = send_with_appendices(deployment, clerk, G22, "VĂN PHÒNG CHÍNH PHỦ",
                                      f"Về việc thu hồi bản sao (mã {uuid.uuid4().hex[:6]})", 1, H60)
        made = [copy_of(clerk, source["id"]) for _ in range(2)]
        assert [m.status_code for m in made] == [201, 201], [m.text for m in made]
        copy, unsent = (m.json() for m in made)
        arrived = sent_and_arrived(clerk, copy["id"], H60, other)
        url = f"/api/v1/copies/{copy['id']}/changes"

        def ask(client: httpx.Client, path: str, body: dict, key: str | None = None) -> httpx.Response:
            return client.post(path, json=body, headers={"x-csrf-token": csrf_token_of(client),
                                                         **({"Idempotency-Key": key} if key else {})})

        missing = ask(clerk, url, {"kind": "take_back", "reason": ""})
        assert missing.status_code == 422 and missing.headers["content-type"].startswith("application/problem+json")
        key = uuid.uuid4().hex
        for _ in range(2):   # a retry: one request leaves
            asked = ask(clerk, url, {"kind": "take_back", "reason": "Gửi nhầm nơi nhận"}, key)
            assert asked.status_code == 200, asked.text
        body = asked.json()
        assert body["direction"] == "copies" and body["state"] == "recalled" and body["pending_change"] == "take_back"
        assert [h["action"] for h in body["history"]].count("change_sent") == 1
        assert [r["recall_state"] for r in body["recipients"]] == ["requested"]
        pending = ask(clerk, url, {"kind": "recall", "reason": "Lần nữa"})
        assert pending.status_code == 422 and pending.json()["code"] == "change_pending", pending.text

        def requested(kind: str):
            return [i for i in other.get("/api/v1/change-requests").json()["items"]
                    if i["id"] == arrived["id"] and i["change"]["kind"] == kind]

        [item] = wait_for(lambda: requested("take_back"), 90, "the 13 at Tuyên Quang")
        assert item["copy_form"] == "SY" and item["change"]["reason"] == "Gửi nhầm nơi nhận"
        refused = ask(other, f"/api/v1/incoming/{arrived['id']}/change-decision",
                      {"accept": False, "reason": "Bản sao đã được giao xử lý"})
        assert refused.status_code == 200, refused.text

        def answered(state: str):
            lines = clerk.get(f"/api/v1/copies/{copy['id']}/statuses").json()["recipients"]
            return lines if lines[0]["recall_state"] == state else None

        wait_for(lambda: answered("refused"), 90, "the 16 back at the copy")
        back = clerk.get(f"/api/v1/copies/{copy['id']}").json()
        assert back["state"] == "issued" and not back["frozen"] and back["pending_change"] is None
        assert [h["action"] for h in back["history"]][-2:] == ["status", "change_closed"]

        subject = f"{back['subject']} (sửa)"
        updated = ask(clerk, url, {"kind": "update", "reason": "Sửa trích yếu", "subject": subject},
                      uuid.uuid4().hex)
        assert updated.status_code == 200 and updated.json()["subject"] == subject, updated.text
        wait_for(lambda: requested("update"), 90, "the update at Tuyên Quang")
        agreed = ask(other, f"/api/v1/incoming/{arrived['id']}/change-decision", {"accept": True})
        assert agreed.status_code == 200 and agreed.json()["subject"] == subject, agreed.text
        wait_for(lambda: answered("accepted"), 90, "the 15 back at the copy")

        nobody = ask(clerk, f"/api/v1/copies/{unsent['id']}/changes", {"kind": "recall", "reason": "Sao nhầm"})
        assert nobody.status_code == 422 and nobody.json()["code"] == "not_sent", nobody.text
        as_outgoing = ask(clerk, f"/api/v1/outgoing/{copy['id']}/changes", {"kind": "recall", "reason": "Sao nhầm"})
        assert as_outgoing.status_code == 404, as_outgoing.text
        not_a_copy = ask(clerk, f"/api/v1/copies/{source['id']}/changes", {"kind": "recall", "reason": "Sao nhầm"})
        assert not_a_copy.status_code == 404, not_a_copy.text
        assert ask(leader, url, {"kind": "recall", "reason": "Sao nhầm"}).status_code == 403
        assert ask(other, url, {"kind": "recall", "reason": "Sao nhầm"}).status_code == 404
        still = clerk.get(f"/api/v1/copies/{copy['id']}").json()
        assert still["state"] == "issued" and still["pending_change"] is None   # none of those changed it
        assert clerk.get(f"/api/v1/outgoing/{source['id']}").json()["state"] == "issued"
    finally:
        for client in (clerk, admin, leader, other):
            client.close()


def test_a_copy_goes_to_paper_recipients_and_each_paper_copy_given_back_is_recorded(deployment):
    """POST /api/v1/copies/{id}/send with `paper_recipients`, alone or with electronic ones: recorded with channel
    `paper`, once per name, never sent; the copies register and the printed list of recipients name them. After a
    recall (asked of the electronic recipient only), POST /api/v1/copies/{id}/paper-returns records the paper copy
    given back, once; a future day, an unasked copy, the wrong role and another agency are refused."""
    clerk, admin, leader, other = clients(deployment, CLERK, ADMIN, LEADER, OTHER_CLERK)
    try:
        _source, copy = sent_and_copied(deployment, clerk, admin, "Về việc sao gửi bản giấy", 0)

        def post(client: httpx.Client, path: str, body: dict) -> httpx.Response:
            return client.post(path, json=body, headers={"x-csrf-token": csrf_token_of(client)})

        send = f"/api/v1/copies/{copy['id']}/send"
        paper_only = post(clerk, send, {"paper_recipients": ["Công ty TNHH Minh Phát"]})
        assert paper_only.status_code == 200, paper_only.text
        assert paper_only.json()["sent_to"] == ["giay-01"]
        both = post(clerk, send, {"recipients": [H60], "paper_recipients": ["Công ty TNHH Minh Phát",
                                                                            "Trường THPT Tân Trào"]})
        assert both.status_code == 200 and both.json()["sent_to"] == [H60, "giay-02"], both.text
        assert [(r["organ_id"], r["organ_name"], r["channel"]) for r in both.json()["recipients"]] == [
            ("giay-01", "Công ty TNHH Minh Phát", "paper"), (H60, "Ủy ban nhân dân tỉnh Tuyên Quang", "interconnect"),
            ("giay-02", "Trường THPT Tân Trào", "paper")]
        too_long = post(clerk, send, {"paper_recipients": ["x" * 201]})
        assert too_long.status_code == 422, too_long.text
        [listed] = [c for c in clerk.get("/api/v1/copies", params={"size": 100}).json()["items"]
                    if c["id"] == copy["id"]]
        assert listed["recipient_names"] == ["Công ty TNHH Minh Phát (bản giấy)", "Ủy ban nhân dân tỉnh Tuyên Quang",
                                             "Trường THPT Tân Trào (bản giấy)"]
        printed = clerk.get(f"/van-ban/{copy['id']}/noi-nhan")
        assert printed.status_code == 200 and "Trường THPT Tân Trào" in printed.text and "Bản giấy" in printed.text

        returns = f"/api/v1/copies/{copy['id']}/paper-returns"
        early = post(clerk, returns, {"organ_id": "giay-01"})
        assert early.status_code == 422 and early.json()["code"] == "not_asked", early.text
        recalled = post(clerk, f"/api/v1/copies/{copy['id']}/changes", {"kind": "recall", "reason": "Sao nhầm"})
        assert recalled.status_code == 200, recalled.text
        assert [r["recall_state"] for r in recalled.json()["recipients"]] == [
            "paper_pending", "requested", "paper_pending"]
        future = (vn_date(now_utc()) + timedelta(days=1)).isoformat()
        late = post(clerk, returns, {"organ_id": "giay-01", "returned_date": future})
        assert late.status_code == 422 and late.json()["code"] == "future_date", late.text
        assert post(leader, returns, {"organ_id": "giay-01"}).status_code == 403
        assert post(other, returns, {"organ_id": "giay-01"}).status_code == 404
        for _ in range(2):   # recorded once: the second answers the copy as it is
            back = post(clerk, returns, {"organ_id": "giay-01", "note": "Nhận lại tại bộ phận một cửa"})
            assert back.status_code == 200, back.text
        line = back.json()["recipients"][0]
        assert (line["recall_state"], line["returned_on"], line["description"]) == (
            "paper_returned", vn_date(now_utc()).isoformat(), "Nhận lại tại bộ phận một cửa")
        assert [h["action"] for h in back.json()["history"]].count("paper_returned") == 1
        page = clerk.get(f"/van-ban/{copy['id']}").text
        assert 'id="nhan-lai-ban-giay"' in page and "Đã nhận lại bản giấy ngày" in page
    finally:
        for client in (clerk, admin, leader, other):
            client.close()
