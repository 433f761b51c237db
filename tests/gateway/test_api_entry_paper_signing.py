"""Nhập thay of "Duyệt, ký trên giấy" against the real deployment (TP.HCM QĐ 23/QĐ-VP Điều 3.2; Hưng Yên Đ6.3a): with
the agency's rule `paper_signing` allowed, the clerk the leader entrusted (scope `record`) records over the REST API
that the leader approved and signed the paper original, with its scan; the draft page offers the form to the clerk;
the drafter then forwards that scan without uploading it again. Refused without a grant and to another agency; the
digital signature is still never entered. The grant is revoked and the rule set back to "no" at the end."""

from __future__ import annotations

import secrets
from datetime import timedelta

from services.common.clock import now_vn
from tests.gateway import scan_pages as pages
from tests.gateway.test_api_entry_for_leader import NO_GRANT
from tests.gateway.test_api_late_drafting import typed
from tests.gateway.test_api_paper_signing import at_signing, checked, set_paper_signing
from tests.gateway.test_api_writes import CLERK, CLERK_17, HEAD, LEADER, SPECIALIST, api, key, me, ok, refused  # noqa: F401


def test_the_clerk_enters_the_leaders_signature_on_paper_with_the_scan(deployment, api):  # noqa: F811
    from tests.gateway.test_handling_flow import login

    clerk, leader, head, specialist, other = api(CLERK), api(LEADER), api(HEAD), api(SPECIALIST), api(CLERK_17)
    leader_id, clerk_id = me(leader)["user_id"], me(clerk)["user_id"]
    draft_id = at_signing(specialist, head, f"V/v kiểm kê tài sản công, nhập thay ký giấy ({secrets.token_hex(3)})")
    step = ok(specialist.get(f"/api/v1/drafts/{draft_id}"))["step"]["key"]
    scan = pages.scanned(pages.inventory())   # the approved page, signed by hand and scanned
    path = f"/api/v1/drafts/{draft_id}/enter-for-leader/paper-signature"

    def send(client, **extra):
        return client.post(path, headers=key(), data={"leader_user_id": leader_id, "step": step,
                                                      "comment": "Đồng ý ban hành", **extra},
                           files={"file": ("ban-scan.pdf", scan, "application/pdf")})

    assert refused(send(clerk), 403)["code"] in NO_GRANT
    start = now_vn().replace(second=0, microsecond=0) - timedelta(hours=1)
    grant = ok(leader.post("/api/v1/delegations", headers=key(), json={
        "delegate_user_id": clerk_id, "starts_at": typed(start), "ends_at": typed(start + timedelta(days=1)),
        "scopes": ["record"], "note": "Văn phòng nhập thay ý kiến lãnh đạo"}), 201)
    screen = login(deployment, f"http://127.0.0.1:{deployment.topology.gateway_port}", CLERK)
    try:
        assert refused(send(clerk), 403)["code"] == "paper_signing_not_allowed"
        assert 'id="nhap-thay-ky-giay"' not in screen.get(f"/du-thao/{draft_id}").text
        set_paper_signing(deployment, "allowed")
        assert 'id="nhap-thay-ky-giay"' in screen.get(f"/du-thao/{draft_id}").text
        refused(send(other), 404)                                         # another agency
        assert refused(send(clerk, step="khac"), 409)["code"] == "step_moved"
        approved = ok(send(clerk))
        assert approved["status"] == "paper_approved"
        paper = approved["paper"]
        assert (paper["approved_by"], paper["entered_by"]) == (leader_id, clerk_id)
        assert ok(send(clerk)) == approved                                # sent again: as it is
        told = [n for n in ok(leader.get("/api/v1/reminders")) if n["kind"] == "entered_for_you"
                and str(n["ref_id"]) == str(draft_id)]
        assert len(told) == 1
        # the entered scan on the draft's page, for the drafter to forward without choosing the file again
        page = login(deployment, f"http://127.0.0.1:{deployment.topology.gateway_port}", SPECIALIST)
        shown = page.get(f"/du-thao/{draft_id}").text
        assert "nhập thay lúc" in shown and "Để trống: chuyển bản scan đã kèm khi nhập thay" in shown
        assert page.get(f"/du-thao/{draft_id}/tep/{paper['entered_scan_sha256']}").content == scan
        page.close()
        ok(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                           data={"note": "Bản gốc lưu tại Văn phòng"}), 202)   # checked by routing's worker
        checked(specialist, draft_id, "forwarded")
        forwarded = ok(specialist.get(f"/api/v1/drafts/{draft_id}"))
        assert forwarded["status"] == "signed" and forwarded["signed_sha256"] == paper["entered_scan_sha256"]
        assert forwarded["paper"]["scan_check"]["matches"]
    finally:
        set_paper_signing(deployment, "no")
        ok(leader.post(f"/api/v1/delegations/{grant['delegation_id']}/revoke", headers=key()))
        screen.close()
