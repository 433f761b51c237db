"""Drafting screens over HTTP against the real demo deployment (routing, signing, storage as real processes):
who may approve, a returned draft comes back with the reviewer's comment, versions are listed, a DOCX draft is
converted to PDF, and another agency's draft id is not found."""

from __future__ import annotations

import io
import re
import zipfile

import httpx
import pytest

from gateway.auth import Accounts
from gateway.models import Base as GatewayBase
from gateway.settings import GatewaySettings
from infra.demo_seed import seeding_admin
from services.common.db import Database
from services.common.rpc_client import ServiceClient
from services.signing.pki import load_pki
from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf

H60, H17 = "000.00.00.H60", "000.00.00.H17"
SPECIALIST, HEAD, LEADER, CLERK = "trangdt.thtq", "tuanpm.thtq", "annv.vptq", "hoalt.vptq"
SPECIALIST_H17 = "phuchv.thdn"

# The demo has no "Văn phòng" unit with reviewers, so the default chain's office step would wait for nobody:
# the department head reviews the content, then the leader approves and signs.
DEMO_CHAIN = [
    {"key": "department", "label": "Lãnh đạo phòng", "roles": ["department_head"], "same_unit": True},
    {"key": "leader", "label": "Lãnh đạo cơ quan", "roles": ["leader"], "signs": True},
]


def user_id(client: httpx.Client) -> str:
    return client.get("/api/v1/me").json()["user_id"]


def agency_staff(deployment, organ_id: str) -> list[dict]:
    """The agency's accounts as routing's staff directory entries (the same values the demo seed syncs)."""
    db = Database("gateway", "gateway", GatewayBase.metadata, GatewaySettings(data_dir=deployment.data_dir))
    try:
        return [{"user_id": u.id, "username": u.username, "full_name": u.full_name, "unit": u.unit,
                 "roles": sorted(u.roles), "position": u.position or "", "active": not u.disabled}
                for u in Accounts(db).list_users(organ_id)]
    finally:
        db.dispose()


def prepare_agency_for_drafts(deployment, organ_id: str, leader_username: str) -> None:
    """What an agency's administrator does once: the staff directory in routing (re-assigning needs it), the
    review chain, and the leader's key bound to his account."""
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    leader = signed_in(base, leader_username, demo_password(deployment, leader_username))
    try:
        leader_id = user_id(leader)
    finally:
        leader.close()
    p12 = load_pki(deployment.pki_dir).agency(organ_id)["leaders"][0]["p12"]
    client = ServiceClient(deployment.agencies()[organ_id]["amqp_uri"], size=1, timeout=60)
    try:
        admin = seeding_admin(organ_id)
        client.call("routing", "sync_staff", admin, agency_staff(deployment, organ_id))
        client.call("routing", "configure", admin, review_chain=DEMO_CHAIN)
        client.call("signing", "register_certificate", admin, leader_id, "personal",
                    {"source": "pkcs12", "p12": p12})
    finally:
        client.close()


def create_draft(client: httpx.Client, title: str, file: tuple[str, bytes, str] | None = None,
                 answers: list[str] | None = None) -> int:
    form = client.get("/du-thao/moi")
    assert form.status_code == 200, form.text[:500]
    file = file or ("Dự thảo.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", title), "application/pdf")
    r = client.post("/du-thao/moi", data={"csrf_token": csrf_of(form.text), "title": title, "type_code": "CV",
                                          "priority": "0", "note": "", "answers": answers or []},
                    files={"file": file})
    assert r.status_code == 303, r.text[:2000]
    return int(re.search(r"/du-thao/(\d+)", r.headers["location"]).group(1))


def post(client: httpx.Client, draft_id: int, action: str, **data: str) -> httpx.Response:
    page = client.get(f"/du-thao/{draft_id}")
    return client.post(f"/du-thao/{draft_id}/{action}", data={"csrf_token": csrf_of(page.text), **data})


@pytest.fixture(scope="module")
def gateway(deployment):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    opened: list[httpx.Client] = []

    def login(username: str) -> httpx.Client:
        client = signed_in(base, username, demo_password(deployment, username))
        opened.append(client)
        return client

    yield login
    for client in opened:
        client.close()


def test_a_specialist_cannot_approve_a_draft(gateway):
    specialist = gateway(SPECIALIST)
    draft_id = create_draft(specialist, "Về việc rà soát thủ tục hành chính năm 2026 (thử quyền duyệt)")
    assert post(specialist, draft_id, "trinh").status_code == 303
    page = specialist.get(f"/du-thao/{draft_id}")
    assert "Đang trình duyệt" in page.text and 'action="/du-thao/' + str(draft_id) + '/duyet"' not in page.text

    refused = post(specialist, draft_id, "duyet", comment="tự duyệt")
    assert refused.status_code == 403
    assert "Bạn không có quyền duyệt ở bước" in refused.text
    assert "Đang trình duyệt" in specialist.get(f"/du-thao/{draft_id}").text  # nothing changed


def test_a_returned_draft_comes_back_with_the_comment_and_versions_are_listed(gateway):
    specialist, head = gateway(SPECIALIST), gateway(HEAD)
    title = "Về việc tổ chức tập huấn văn thư lưu trữ (thử trả lại)"
    draft_id = create_draft(specialist, title)
    post(specialist, draft_id, "trinh", note="Kính trình anh xem")

    waiting = head.get("/du-thao").text
    section = waiting.split('id="cho-toi-duyet"')[1].split("</section>")[0]
    assert title in section, "the draft is not in the head's 'waiting for me' list"
    head_page = head.get(f"/du-thao/{draft_id}").text
    assert "Đồng ý, chuyển bước sau" in head_page and "Trả lại người soạn" in head_page

    comment = "Bổ sung căn cứ Nghị định 30/2020/NĐ-CP và thời gian tập huấn."
    assert post(head, draft_id, "tra-lai", comment=comment).status_code == 303

    page = specialist.get(f"/du-thao/{draft_id}").text
    assert "Bị trả lại" in page and comment in page and "Phạm Minh Tuấn" in page

    form = specialist.get(f"/du-thao/{draft_id}")
    pdf = vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", title + "\nCăn cứ Nghị định 30/2020/NĐ-CP")
    r = specialist.post(f"/du-thao/{draft_id}/phien-ban", data={"csrf_token": csrf_of(form.text),
                                                               "note": "Đã bổ sung căn cứ"},
                        files={"file": ("Dự thảo v2.pdf", pdf, "application/pdf")})
    assert r.status_code == 303, r.text[:1000]
    page = specialist.get(f"/du-thao/{draft_id}").text
    versions = page.split('id="phien-ban"')[1].split("</table>")[0]
    assert re.findall(r"<tr><td>(\d+)</td>", versions) == ["1", "2"]
    assert "Đã bổ sung căn cứ" in versions
    files = re.findall(rf'href="(/du-thao/{draft_id}/tep/[0-9a-f]{{64}})"', versions)
    assert len(files) == 2 and files[0] != files[1]
    first = specialist.get(files[0])
    assert first.status_code == 200 and first.content.startswith(b"%PDF")

    # Resubmitted, the chain starts again at the department head.
    post(specialist, draft_id, "trinh")
    assert "Lãnh đạo phòng" in head.get(f"/du-thao/{draft_id}").text


def minimal_docx(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                   '2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                   'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                   f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body>'
                   '</w:document>')
    return buf.getvalue()


def test_a_docx_draft_is_converted_to_a_pdf_prepared_for_signing(gateway):
    specialist = gateway(SPECIALIST)
    title = "Về việc góp ý dự thảo quy chế làm việc (tệp DOCX)"
    draft_id = create_draft(specialist, title, ("Quy chế làm việc.docx", minimal_docx("QUY CHẾ LÀM VIỆC"),
                                                "application/vnd.openxmlformats-officedocument."
                                                "wordprocessingml.document"))
    page = specialist.get(f"/du-thao/{draft_id}").text
    link = re.search(rf'href="(/du-thao/{draft_id}/tep/[0-9a-f]{{64}})"', page).group(1)
    pdf = specialist.get(link)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # prepare_draft added the fields the leader and the clerk fill later
    assert b"/LanhDao" in pdf.content or b"(LanhDao)" in pdf.content


def test_a_broken_docx_is_refused_by_the_signing_services_checks_and_no_draft_is_made(gateway):
    """The gateway stores the upload and signing converts it (services/signing/convert.py checks the package
    first). LibreOffice run by the gateway itself opened a DOCX with broken XML as plain text and "converted" it."""
    specialist = gateway(SPECIALIST)
    title = "Về việc thử tệp DOCX hỏng (không được tạo dự thảo)"
    buf = io.BytesIO()  # a well-formed ZIP whose main XML is cut in the middle of a paragraph
    with zipfile.ZipFile(io.BytesIO(minimal_docx("QUY CHẾ"))) as src, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"</w:document>", "<w:p><w:r><w:t>Điều 1. Ban hành".encode())
            out.writestr(item, data)
    broken = buf.getvalue()
    form = specialist.get("/du-thao/moi")
    r = specialist.post("/du-thao/moi", data={"csrf_token": csrf_of(form.text), "title": title, "type_code": "CV",
                                              "priority": "0", "note": ""},
                        files={"file": ("Quy chế hỏng.docx", broken, "application/vnd.openxmlformats-officedocument."
                                                                     "wordprocessingml.document")})
    assert r.status_code == 422, r.text[:1000]
    assert "Tệp DOCX bị hỏng hoặc không đúng định dạng, không chuyển được sang PDF" in r.text
    assert title not in specialist.get("/du-thao").text


def test_a_draft_of_another_agency_is_not_found(gateway):
    ours = gateway(SPECIALIST)
    theirs = gateway(SPECIALIST_H17)
    mine = create_draft(ours, "Về việc kiểm tra công tác văn thư (H60)")
    title = "Về việc chuẩn bị hội nghị tổng kết (dự thảo của Đà Nẵng)"
    their_id = create_draft(theirs, title)
    for _ in range(20):  # make the id one that does not exist at H60 among ours (ids are per agency)
        if their_id > mine:
            break
        their_id = create_draft(theirs, title)
    assert their_id > mine
    assert theirs.get(f"/du-thao/{their_id}").status_code == 200
    page = ours.get(f"/du-thao/{their_id}")
    assert page.status_code == 404 and title not in page.text
    assert "Không tìm thấy dự thảo" in page.text
    their_file = re.search(r'/tep/([0-9a-f]{64})', theirs.get(f"/du-thao/{their_id}").text).group(1)
    assert ours.get(f"/du-thao/{their_id}/tep/{their_file}").status_code == 404
    assert post(ours, mine, "trinh").status_code == 303
    assert ours.post(f"/du-thao/{their_id}/duyet", data={
        "csrf_token": csrf_of(ours.get(f"/du-thao/{mine}").text)}).status_code == 404


def test_the_reviewer_reads_the_draft_page_by_page_and_another_agency_cannot(gateway):
    """A PDF inside a page is not shown on most phones: the leader reads the draft he is asked to sign as page
    images with their text, on the page and over REST, and only in his own agency."""
    specialist, head = gateway(SPECIALIST), gateway(HEAD)
    title = "Về việc kiểm tra công tác cải cách hành chính (đọc từng trang)"
    draft_id = create_draft(specialist, title)
    assert post(specialist, draft_id, "trinh").status_code == 303

    page = head.get(f"/du-thao/{draft_id}").text
    preview = page.split('id="xem-truoc"')[1].split("</section>")[0]
    reader = re.search(rf'href="(/du-thao/{draft_id}/tep/([0-9a-f]{{64}})/xem)"', preview)
    assert reader, "the draft page has no preview leading to the page-by-page reader"
    sha = reader.group(2)
    versions = page.split('id="phien-ban"')[1].split("</table>")[0]
    assert f"/du-thao/{draft_id}/tep/{sha}/xem" in versions and "Xem từng trang" in versions

    pages = head.get(reader.group(1))
    assert pages.status_code == 200 and "Trang 1/1" in pages.text and title in pages.text
    assert "<h1>Phiên bản 1</h1>" in pages.text
    assert f'src="/du-thao/{draft_id}/tep/{sha}/trang/1.png"' in pages.text
    image = head.get(f"/du-thao/{draft_id}/tep/{sha}/trang/1.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert head.get(f"/du-thao/{draft_id}/tep/{sha}/trang/2.png").status_code == 404

    api = head.get(f"/api/v1/drafts/{draft_id}/files/{sha}/pages")
    assert api.status_code == 200, api.text[:500]
    body = api.json()
    assert body["draft_id"] == draft_id and body["name"] == f"du-thao-{draft_id}-phien-ban-1.pdf"
    assert [p["number"] for p in body["pages"]] == [1] and title in body["pages"][0]["text"]
    assert head.get(body["pages"][0]["image"]).content.startswith(b"\x89PNG")
    assert head.get(f"/api/v1/drafts/{draft_id}/files/{'0' * 64}/pages").status_code == 404

    # Đà Nẵng's specialist, with the same draft number in his own agency or none, never sees Tuyên Quang's file.
    other = gateway(SPECIALIST_H17)
    for path in (f"/du-thao/{draft_id}/tep/{sha}/xem", f"/du-thao/{draft_id}/tep/{sha}/trang/1.png",
                 f"/api/v1/drafts/{draft_id}/files/{sha}/pages", f"/api/v1/drafts/{draft_id}/files/{sha}/pages/1"):
        r = other.get(path)
        assert r.status_code == 404 and title not in r.text, path


def test_an_invited_colleague_sees_the_draft_and_comments_others_do_not(gateway):
    specialist, head, clerk = gateway(SPECIALIST), gateway(HEAD), gateway(CLERK)
    title = "Về việc lấy ý kiến dự thảo kế hoạch chuyển đổi số (thử mời góp ý)"
    draft_id = create_draft(specialist, title)
    assert clerk.get(f"/du-thao/{draft_id}").status_code == 404  # not a participant, not a reviewer

    page = specialist.get(f"/du-thao/{draft_id}").text
    clerk_id = user_id(clerk)
    invite_form = page.split('id="moi-gop-y"')[1].split("</section>")[0]
    assert f'value="{clerk_id}"' in invite_form and "Lê Thị Hoa" in invite_form
    r = post(specialist, draft_id, "moi-gop-y", user_ids=clerk_id)
    assert r.status_code == 303

    seen = clerk.get(f"/du-thao/{draft_id}")
    assert seen.status_code == 200 and title in seen.text
    assert title in clerk.get("/du-thao").text.split('id="tham-gia"')[1]
    opinion = "Đề nghị bổ sung lộ trình số hóa hồ sơ lưu trữ."
    assert post(clerk, draft_id, "gop-y", text=opinion).status_code == 303
    comments = specialist.get(f"/du-thao/{draft_id}").text.split('id="y-kien"')[1]
    assert opinion in comments and "Lê Thị Hoa" in comments and "Góp ý" in comments
    # A commenter is not the author: cannot submit, and a reviewer who was not invited still cannot see it
    assert post(clerk, draft_id, "trinh").status_code == 403
    assert head.get(f"/du-thao/{draft_id}").status_code == 404


def test_only_the_clerk_opens_the_issue_screen(gateway):
    leader = gateway(LEADER)
    refused = leader.get("/van-ban-di/khong-co/ban-hanh")
    assert refused.status_code == 403
    assert "quyền" in refused.text


def test_waits_for_mirrors_the_step_rule():
    from types import SimpleNamespace

    from gateway.drafting import waits_for
    from services.common.actor import Actor

    def viewer_of(roles: set[str], unit: str):
        return SimpleNamespace(actor=Actor(user_id="u", username="u", agency_id=H60, roles=frozenset(roles),
                                           full_name="", unit=unit))

    step = {"key": "department", "label": "Lãnh đạo phòng", "roles": ["department_head"], "unit": None,
            "same_unit": True, "signs": False}
    draft = {"status": "in_review", "step": step, "unit": "THTQ"}
    assert waits_for(draft, viewer_of({"department_head"}, "THTQ"))
    assert not waits_for(draft, viewer_of({"department_head"}, "VPTQ"))  # another unit's head
    assert not waits_for(draft, viewer_of({"specialist"}, "THTQ"))
    assert not waits_for({**draft, "status": "returned"}, viewer_of({"department_head"}, "THTQ"))


def test_the_draft_page_names_the_reviewers_of_the_step_and_warns_when_nobody_fits(deployment, gateway):
    from services.routing.chains import DEFAULT_CHAIN

    g22 = "000.00.00.G22"
    client = ServiceClient(deployment.agencies()[g22]["amqp_uri"], size=1, timeout=60)
    try:  # the default chain, said explicitly: its "Văn phòng" step wants unit VP, which G22's demo lacks
        client.call("routing", "sync_staff", seeding_admin(g22), agency_staff(deployment, g22))
        client.call("routing", "configure", seeding_admin(g22), review_chain=DEFAULT_CHAIN)
    finally:
        client.close()
    specialist, head = gateway("yenmt.tkbt"), gateway("binhlv.tkbt")
    draft_id = create_draft(specialist, "Về việc rà soát quy chế phối hợp (thử người duyệt của bước)")
    post(specialist, draft_id, "trinh")
    waiting = specialist.get(f"/du-thao/{draft_id}").text.split('id="dang-cho"')[1].split("</dd>")[0]
    assert "Lãnh đạo phòng" in waiting and "Lý Văn Bình" in waiting
    assert post(head, draft_id, "duyet", comment="Đồng ý").status_code == 303
    waiting = specialist.get(f"/du-thao/{draft_id}").text.split('id="dang-cho"')[1].split("</dd>")[0]
    assert "Văn phòng" in waiting and "chưa có cán bộ nào phù hợp" in waiting


def test_settle_looks_again_until_the_work_is_done_or_the_bound_is_reached():
    from gateway.backends import ServiceUnavailable
    from gateway.drafting import settle

    answers = iter([False, ServiceUnavailable("Hệ thống đang bận."), True])
    assert settle(lambda: _next(answers), seconds=30, every=0.01)
    assert not settle(lambda: False, seconds=0.05, every=0.01)


def _next(answers):
    value = next(answers)
    if isinstance(value, Exception):
        raise value
    return value


def test_a_conversion_that_outlasts_the_rpc_timeout_is_asked_again_and_its_refusal_is_reported():
    """gateway.drafting._prepare over a stand-in for the backends (pure retry logic): after the gateway's RPC timeout
    signing is asked again (it remembers the finished operation); a refusal then is the user's answer at once."""
    from types import SimpleNamespace

    from gateway.backends import ServiceUnavailable
    from gateway.drafting import _prepare
    from services.common.errors import ValidationFailed

    def backends(*answers):
        pending = list(answers)
        calls = []

        def call(actor, service, method, *args):
            calls.append((service, method, args))
            answer = pending.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return SimpleNamespace(backends=SimpleNamespace(call=call)), calls

    viewer = SimpleNamespace(actor=None)
    g, calls = backends(ServiceUnavailable("Hệ thống đang bận."), {"sha256": "b" * 64, "pdf_sha256": "c" * 64})
    assert _prepare(g, viewer, "a" * 64) == {"sha256": "b" * 64, "pdf_sha256": "c" * 64}
    assert calls == [("signing", "prepare_draft", ("a" * 64,))] * 2

    broken = ValidationFailed("Tệp DOCX bị hỏng hoặc không đúng định dạng, không chuyển được sang PDF.")
    g, calls = backends(ServiceUnavailable("Hệ thống đang bận."), broken)
    with pytest.raises(ValidationFailed) as refused:
        _prepare(g, viewer, "a" * 64)
    assert refused.value is broken and len(calls) == 2


def test_the_reviewers_initials_show_on_the_draft(gateway):
    """Ký tắt (Tuyên Quang Đ12.1c): the department head's approval is their initials on the draft, page and REST."""
    specialist, head = gateway(SPECIALIST), gateway(HEAD)
    draft_id = create_draft(specialist, "Về việc kiểm kê tài liệu lưu trữ năm 2026 (thử ký tắt)")
    post(specialist, draft_id, "trinh")
    assert 'id="ky-tat"' not in specialist.get(f"/du-thao/{draft_id}").text
    assert post(head, draft_id, "duyet", comment="Đồng ý").status_code == 303
    page = specialist.get(f"/du-thao/{draft_id}").text
    initials = page.split('id="ky-tat"')[1].split("</dd>")[0]
    assert "<strong>PMT</strong>" in initials and "Phạm Minh Tuấn" in initials
    [entry] = specialist.get(f"/api/v1/drafts/{draft_id}").json()["initials"]
    assert (entry["initials"], entry["version"]) == ("PMT", 1)


def test_the_deputy_in_charge_named_on_the_page_reviews_before_the_signing_step(gateway):
    specialist, head, leader = gateway(SPECIALIST), gateway(HEAD), gateway(LEADER)
    draft_id = create_draft(specialist, "Về việc quy hoạch kho lưu trữ (thử phó phụ trách)")
    page = specialist.get(f"/du-thao/{draft_id}").text
    leader_id = re.search(r'<option value="([^"]+)"[^>]*>Nguyễn Văn An', page.split('id="pho-phu-trach"')[1]).group(1)
    named = post(specialist, draft_id, "pho-phu-trach", user_id=leader_id)
    assert named.status_code == 303
    page = specialist.get(named.headers["location"]).text
    assert "Đã lưu phó phụ trách của dự thảo." in page
    assert "Nguyễn Văn An" in page.split('id="phu-trach"')[1].split("</dd>")[0]
    post(specialist, draft_id, "trinh")
    assert post(head, draft_id, "duyet", comment="Đồng ý").status_code == 303
    page = leader.get(f"/du-thao/{draft_id}").text
    assert "Phó phụ trách (ký tắt)" in page.split('id="dang-cho"')[1].split("</dd>")[0]
    assert post(leader, draft_id, "duyet", comment="Ký tắt").status_code == 303  # not the signature yet
    view = specialist.get(f"/api/v1/drafts/{draft_id}").json()
    assert view["step"]["key"] == "leader" and [i["initials"] for i in view["initials"]] == ["PMT", "NVA"]

    other = create_draft(specialist, "Về việc tập huấn lưu trữ (thử phó phụ trách qua API)")
    csrf = csrf_of(specialist.get(f"/du-thao/{other}").text)
    r = specialist.post(f"/api/v1/drafts/{other}/deputy", json={"user_id": leader_id}, headers={"x-csrf-token": csrf})
    assert r.status_code == 200 and r.json()["deputy_user_id"] == leader_id
    r = specialist.post(f"/api/v1/drafts/{other}/deputy", json={"user_id": None}, headers={"x-csrf-token": csrf})
    assert r.status_code == 200 and r.json()["deputy_user_id"] is None
