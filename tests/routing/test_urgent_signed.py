"""A signed urgent draft tells the agency's clerks at once (issue 18 item 7): routing's in-app notice, which the
gateway's Web Push follows (the `notified` event)."""

from tests.routing.conftest import pdf


def test_a_signed_urgent_draft_tells_the_clerks_at_once(routing, people, blobs):
    # issue 18 item 7: an urgent document is issued as soon as it is signed; the clerk learns it then
    urgent = routing.create_draft(people.spec_kt, "Công điện về ứng phó bão số 5", pdf(blobs, "cd"), type_code="CĐ",
                                  priority=3)["draft_id"]
    plain = routing.create_draft(people.spec_kt, "Kế hoạch thường", pdf(blobs, "kh"), type_code="KH")["draft_id"]
    for draft_id in (urgent, plain):
        routing.submit_draft(people.spec_kt, draft_id)
        routing.approve_draft(people.head_kt, draft_id)
        routing.approve_draft(people.spec_vp, draft_id)
        if draft_id == urgent:   # nothing before the signature
            assert not [n for n in routing.list_notifications(people.clerk) if n["kind"] == "urgent"]
        assert routing.approve_draft(people.leader, draft_id)["status"] == "signed"
    notices = [n for n in routing.list_notifications(people.clerk) if n["kind"] == "urgent"]
    assert [(n["title"], n["ref_kind"]) for n in notices] == [
        ("[Hỏa tốc] Văn bản đi cần cấp số, ban hành ngay: Công điện về ứng phó bão số 5", "waiting_issue")]
