"""The leader signs with the PIN of his own token (issue 20 item 1), in a real browser and over REST: his key is on a
SoftHSM2 token of his own made at run time (`congvan pki token`, the PIN on stdin), bound to his account; a wrong
PIN is refused with a clear Vietnamese message and nothing is signed; the right PIN signs. The PIN field is a
password field; the page never shows the PIN back. The binding is put back to the demo's key afterwards."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import expect

from infra.demo_seed import seeding_admin
from services.common.rpc_client import ServiceClient
from services.signing.pki import load_pki
from tests.deployment import demo_password
from tests.e2e.helpers import browser_signed_in, signed_in
from tests.gateway.test_api import csrf_token_of
from tests.gateway.test_drafting import (
    CLERK,
    H17,
    H60,
    HEAD,
    LEADER,
    SPECIALIST,
    create_draft,
    post,
    prepare_agency_for_drafts,
    user_id,
)

pytestmark = pytest.mark.browser


def token_for(deployment, holder: str, name: str, pin: str) -> dict:
    """`congvan pki token` in the deployment's SoftHSM2 directory; the PIN goes through stdin."""
    env = {**os.environ, "SOFTHSM2_CONF": str(deployment.run_dir / "softhsm2.conf")}
    done = subprocess.run([sys.executable, "-m", "services.signing.cli", "pki", "token", holder, "--agency", H60,
                           "--name", name, "--title", "Chủ tịch", "--pki-dir", str(deployment.pki_dir)],
                          input=pin + "\n", capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert pin not in done.stdout and pin not in done.stderr
    return json.loads(done.stdout)["key_ref"]


def test_the_leader_signs_with_his_tokens_pin(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    prepare_agency_for_drafts(deployment, H60, LEADER)
    leader = signed_in(base, LEADER, demo_password(deployment, LEADER))
    leader_id = user_id(leader)
    pin = secrets.token_hex(3)
    ref = token_for(deployment, leader_id, "Nguyễn Văn An", pin)
    rpc = ServiceClient(deployment.agencies()[H60]["amqp_uri"], size=1, timeout=60)
    rpc.call("signing", "register_certificate", seeding_admin(H60), leader_id, "personal", ref)
    specialist = signed_in(base, SPECIALIST, demo_password(deployment, SPECIALIST))
    head = signed_in(base, HEAD, demo_password(deployment, HEAD))
    try:
        draft_id = create_draft(specialist, f"Về việc ký số bằng thiết bị cá nhân ({secrets.token_hex(3)})")
        assert post(specialist, draft_id, "trinh").status_code == 303
        assert post(head, draft_id, "duyet", comment="Đồng ý").status_code == 303

        # REST: a wrong PIN is 422 pin_incorrect, and the draft stays at the leader's step
        wrong = leader.post(f"/api/v1/drafts/{draft_id}/approve", json={"comment": "Đồng ý", "pin": "0" + pin},
                            headers={"x-csrf-token": csrf_token_of(leader)})
        assert wrong.status_code == 422, wrong.text
        assert "Mã PIN của thiết bị ký số không đúng" in wrong.text and pin not in wrong.text
        assert leader.get(f"/api/v1/drafts/{draft_id}").json()["status"] != "signed"

        page = browser_signed_in(browser, base, LEADER, demo_password(deployment, LEADER))
        page.goto(f"{base}/du-thao/{draft_id}")
        field = page.get_by_label("Mã PIN thiết bị ký số của bạn")
        expect(field).to_have_attribute("type", "password")
        comment = page.get_by_role("textbox", name="Ý kiến duyệt")
        comment.fill("Đồng ý ban hành; giữ nguyên khi nhập sai mã PIN.")
        field.fill("9" + pin)
        page.get_by_role("button", name="Duyệt và ký").click()
        expect(page.get_by_role("alert")).to_contain_text("Mã PIN của thiết bị ký số không đúng; văn bản chưa được ký.")
        assert pin not in page.content()
        # The draft's own page again, not a dead end: the comment typed is kept, only the PIN is typed again.
        expect(comment).to_have_value("Đồng ý ban hành; giữ nguyên khi nhập sai mã PIN.")
        expect(page.get_by_label("Mã PIN thiết bị ký số của bạn")).to_have_value("")

        page.get_by_label("Mã PIN thiết bị ký số của bạn").fill(pin)
        page.get_by_role("button", name="Duyệt và ký").click()
        expect(page.get_by_role("heading", name="Văn bản đã ký")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "signing-pin.png"), full_page=True)
        assert pin not in page.content()
        report = rpc.call("signing", "verify", seeding_admin(H60),
                          leader.get(f"/api/v1/drafts/{draft_id}").json()["signed_sha256"])
        assert [s["signer"] for s in report["signatures"]] == ["Nguyễn Văn An"] and report["signatures"][0]["intact"]
        comments = leader.get(f"/api/v1/drafts/{draft_id}").json()["comments"]
        assert comments[-1]["text"] == "Đồng ý ban hành; giữ nguyên khi nhập sai mã PIN."
    finally:
        p12 = load_pki(deployment.pki_dir).agency(H60)["leaders"][0]["p12"]
        rpc.call("signing", "register_certificate", seeding_admin(H60), leader_id, "personal",
                 {"source": "pkcs12", "p12": p12})
        rpc.close()
        for client in (leader, specialist, head):
            client.close()


def test_the_rest_approve_route_needs_a_session_csrf_token(deployment):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    with httpx.Client(base_url=base) as anonymous:
        assert anonymous.post("/api/v1/drafts/1/approve", json={"pin": "1234"}).status_code in (401, 403)


def test_the_clerk_seals_with_the_seal_tokens_pin_at_issue(deployment):
    """The agency seal's own token, operated by the clerk: a wrong PIN on the issue form is refused and nothing is
    numbered; the right PIN over REST issues the document with the seal signature."""
    import re

    from tests.e2e.helpers import csrf_of, wait_for

    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    prepare_agency_for_drafts(deployment, H60, LEADER)
    people = {u: signed_in(base, u, demo_password(deployment, u)) for u in (SPECIALIST, HEAD, LEADER, CLERK)}
    pin = secrets.token_hex(3)
    rpc = ServiceClient(deployment.agencies()[H60]["amqp_uri"], size=1, timeout=60)
    try:
        title = f"Về việc đóng dấu bằng thiết bị của cơ quan ({secrets.token_hex(3)})"
        draft_id = create_draft(people[SPECIALIST], title)
        for who, action in ((SPECIALIST, "trinh"), (HEAD, "duyet"), (LEADER, "duyet")):
            assert post(people[who], draft_id, action, comment="Đồng ý").status_code == 303
        ref = token_for(deployment, "seal", "", pin)
        rpc.call("signing", "register_certificate", seeding_admin(H60), "", "seal", ref)
        clerk = people[CLERK]

        def waiting():
            rows = clerk.get("/van-ban-di/cho-ban-hanh").text
            return re.search(rf'href="/van-ban/([^"]+)">[^<]*</a></td>\s*<td>{re.escape(title)}', rows)

        doc_id = wait_for(waiting, 120, "the signed draft waiting to be issued").group(1)
        form = clerk.get(f"/van-ban-di/{doc_id}/ban-hanh").text
        assert 'name="pin"' in form and "Mã PIN thiết bị ký số con dấu của cơ quan" in form
        register_id = re.search(r'name="register_id">\s*<option value="([^"]+)"', form).group(1)
        refused = clerk.post(f"/van-ban-di/{doc_id}/ban-hanh", data={
            "csrf_token": csrf_of(form), "register_id": register_id, "recipients": [H17], "priority": "0",
            "pin": "0" + pin})
        assert refused.status_code == 422 and "Mã PIN của thiết bị ký số không đúng" in refused.text
        assert pin not in refused.text
        assert clerk.get(f"/api/v1/outgoing/{doc_id}").json()["state"] != "issued"

        issued = clerk.post(f"/api/v1/outgoing/{doc_id}/issue", json={
            "recipients": [H17], "register_id": register_id, "pin": pin},
            headers={"x-csrf-token": csrf_token_of(clerk)})
        assert issued.status_code == 200, issued.text[:1000]
        assert issued.json()["state"] == "issued"
    finally:
        seal = load_pki(deployment.pki_dir).agency(H60)["seal"]["p12"]
        rpc.call("signing", "register_certificate", seeding_admin(H60), "", "seal", {"source": "pkcs12", "p12": seal})
        rpc.close()
        for client in people.values():
            client.close()
