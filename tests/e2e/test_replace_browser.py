"""Thay thế văn bản (issue 18 item 6), in Chromium and over the REST API, on the demo deployment.

Tuyên Quang's clerk sends a document that Đà Nẵng's clerk registers. A decision is then drafted, approved and signed
in Tuyên Quang to replace it. Over REST, the issue refuses to make the decision replace itself. On the screens,
from the sent document's page, the clerk chooses the signed decision under "Thay thế văn bản": its issue page opens
with "Văn bản này thay thế văn bản đã ban hành" ticked and the document chosen; she issues it without choosing a
recipient. The decision leaves as an edXML package of business type 3 naming the replaced document, reaches Đà Nẵng
(the replaced document's recipient), whose registry links it to the document it received before: Đà Nẵng's clerk
sees "Được thay thế bằng văn bản" with a link, Tuyên Quang's page says "Đã được thay thế bởi văn bản số …" with a
link. Screenshots in tests/artifacts/.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import browser_signed_in, signed_in, wait_for
from tests.e2e.test_issuing_channels import CLERK as CLERK_TQ
from tests.e2e.test_issuing_channels import HEAD, LEADER, SPECIALIST, signed_decision
from tests.e2e.test_recall_browser import PATIENCE, api, exchanged, shot
from tests.gateway.test_drafting import prepare_agency_for_drafts
from tests.gateway.test_handling_flow import CLERK, SENDER

pytestmark = pytest.mark.browser


def test_tuyen_quang_replaces_a_document_sent_to_da_nang_and_both_pages_link_them(deployment, browser,
                                                                                      artifacts_dir):
    tag = uuid.uuid4().hex[:6]
    base, sender_http, outgoing, incoming, receiver_http = exchanged(deployment, f"Về việc lịch tiếp công dân "
                                                                                 f"(mã {tag})")
    old = sender_http.get(f"/api/v1/outgoing/{outgoing}").json()
    prepare_agency_for_drafts(deployment, SENDER, LEADER)
    people = {u: signed_in(base, u, demo_password(deployment, u)) for u in (SPECIALIST, HEAD, LEADER, CLERK_TQ)}
    shots: list = []
    try:
        title = f"Quyết định thay thế lịch tiếp công dân (mã {tag})"
        new = signed_decision(people, title)

        itself = api(people[CLERK_TQ], f"/api/v1/outgoing/{new}/issue", {"replaces": new})
        assert itself.status_code == 422 and itself.json()["code"] == "replaces_itself", itself.text
        assert "chính nó" in itself.json()["detail"]

        sender = browser_signed_in(browser, base, CLERK_TQ, demo_password(deployment, CLERK_TQ))
        sender.goto(f"{base}/van-ban/{outgoing}")
        card = sender.locator("#thay-the-van-ban")
        expect(card).to_contain_text("Thay thế văn bản")
        option = card.locator("option", has_text=title)
        expect(option).to_have_attribute("value", new)
        card.get_by_label("Văn bản chờ ban hành sẽ thay thế văn bản này").select_option(option.inner_text())
        shot(sender, shots, artifacts_dir, "thay-the-01-chon-van-ban.png")
        card.get_by_role("button", name="Thay thế văn bản").click()

        expect(sender.get_by_role("heading", name="Cấp số và ban hành văn bản")).to_be_visible()
        replace = sender.locator("#thay-the")
        expect(replace.get_by_role("checkbox", name="Văn bản này thay thế văn bản đã ban hành")).to_be_checked()
        chosen = replace.get_by_label("Văn bản bị thay thế")
        expect(chosen).to_have_value(outgoing)
        expect(chosen.locator("option:checked")).to_contain_text(old["number_and_notation"])
        shot(sender, shots, artifacts_dir, "thay-the-02-ban-hanh.png")
        sender.get_by_role("button", name="Cấp số, đóng dấu và ban hành").click()
        expect(sender.locator("h1")).to_contain_text("/QĐ-UBND", timeout=120_000)
        issued = people[CLERK_TQ].get(f"/api/v1/outgoing/{new}").json()
        assert issued["state"] == "issued" and [r["organ_id"] for r in issued["recipients"]] == \
            [r["organ_id"] for r in old["recipients"]]
        number = issued["number_and_notation"]
        expect(sender.locator("ol.trace").last).to_contain_text(f"thay thế văn bản số {old['number_and_notation']}")

        sender.goto(f"{base}/van-ban/{outgoing}")
        history = sender.locator("ol.trace").last
        expect(history).to_contain_text(f"Đã được thay thế bởi văn bản số {number}")
        expect(sender.locator("#thay-the-van-ban")).to_have_count(0)   # replaced once, not twice
        shot(sender, shots, artifacts_dir, "thay-the-03-noi-gui.png")
        history.get_by_role("link", name=f"số {number}").click()
        expect(sender.locator("h1")).to_contain_text(number)

        def arrived() -> dict | None:
            doc = receiver_http.get(f"/api/v1/incoming/{incoming}").json()
            return doc if doc.get("replaced_by") else None

        replaced = wait_for(arrived, PATIENCE, "the replacing decision linked in Đà Nẵng")
        receiver = browser_signed_in(browser, base, CLERK, demo_password(deployment, CLERK))
        receiver.goto(f"{base}/van-ban/{incoming}")
        links = receiver.locator("#van-ban-lien-quan")
        expect(links).to_contain_text("Được thay thế bằng văn bản")
        expect(receiver.locator("ol.trace").last).to_contain_text("Được thay thế")
        shot(receiver, shots, artifacts_dir, "thay-the-04-noi-nhan.png")
        links.get_by_role("link", name=re.compile(re.escape(title))).click()
        expect(receiver).to_have_url(f"{base}/van-ban/{replaced['replaced_by']}")
        expect(receiver.locator("#van-ban-lien-quan")).to_contain_text("Thay thế văn bản")

        again = api(people[CLERK_TQ], f"/api/v1/outgoing/{new}/issue", {"replaces": outgoing},
                    key=f"thay-the-{tag}")
        assert again.status_code == 422, again.text   # issued once: another key does not issue it twice
    finally:
        for client in (*people.values(), sender_http, receiver_http):
            client.close()
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`
