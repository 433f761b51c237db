"""The leadership's work schedule (lịch công tác, Bình Định Đ3.1): the office prepares and publishes the week,
staff see it once published, entries are checked, over PostgreSQL."""

from __future__ import annotations

import pytest

from services.common.errors import Forbidden, NotFound, ValidationFailed


def _entry(**extra) -> dict:
    return {"starts_at": "2026-03-03T08:00", "ends_at": "2026-03-03T11:00", "title": "Họp giao ban tuần",
            "place": "Phòng họp số 1", "leaders": ["u-leader"], "attendees": "Lãnh đạo các phòng",
            "preparing_unit": "Văn phòng", "documents": [{"id": "doc-1", "label": "Công văn 12/UBND-VX"}], **extra}


def test_the_office_publishes_the_week_and_staff_see_it(routing, people):
    saved = routing.save_schedule_entry(people.clerk, _entry())
    assert saved["time"] == "08:00 – 11:00" and saved["leaders"][0]["name"] == "Nguyễn Văn An"
    routing.save_schedule_entry(people.clerk, _entry(starts_at="2026-03-05T14:00", ends_at=None,
                                                     title="Làm việc với Sở Nội vụ", leaders=[]))
    draft = routing.schedule_week(people.spec_kt, "2026-03-04")  # any day of the week names it
    assert draft["week_start"] == "2026-03-02" and draft["published"] is False and draft["count"] == 0
    assert routing.schedule_week(people.clerk, "2026-03-02")["count"] == 2  # the office sees its draft

    routing.publish_schedule(people.clerk, "2026-03-02", "Lịch có thể thay đổi")
    week = routing.schedule_week(people.spec_kt, "2026-03-02")
    assert week["published"] and week["note"] == "Lịch có thể thay đổi" and not week["can_edit"]
    days = {d["weekday"]: d["entries"] for d in week["days"]}
    assert [e["title"] for e in days["Thứ Ba"]] == ["Họp giao ban tuần"]
    assert days["Thứ Ba"][0]["documents"] == [{"id": "doc-1", "label": "Công văn 12/UBND-VX"}]
    assert [e["title"] for e in days["Thứ Năm"]] == ["Làm việc với Sở Nội vụ"]
    assert "Thứ Bảy" not in days  # an empty weekend is not printed
    assert routing.schedule_week(people.spec_kt, week["next"])["count"] == 0

    changed = routing.save_schedule_entry(people.clerk, {**_entry(place="Hội trường tầng 3"), "id": saved["id"]})
    assert changed["id"] == saved["id"] and changed["place"] == "Hội trường tầng 3"
    routing.delete_schedule_entry(people.clerk, saved["id"])
    assert routing.schedule_week(people.spec_kt, "2026-03-02")["count"] == 1


def test_only_the_office_edits_and_entries_are_checked(routing, people):
    with pytest.raises(Forbidden):
        routing.save_schedule_entry(people.spec_kt, _entry())
    with pytest.raises(Forbidden):
        routing.publish_schedule(people.head_kt, "2026-03-02")
    with pytest.raises(ValidationFailed):
        routing.save_schedule_entry(people.clerk, _entry(title=" "))
    with pytest.raises(ValidationFailed):
        routing.save_schedule_entry(people.clerk, _entry(ends_at="2026-03-03T07:00"))
    with pytest.raises(ValidationFailed):
        routing.schedule_week(people.clerk, "tuần sau")
    with pytest.raises(NotFound):
        routing.save_schedule_entry(people.clerk, _entry(leaders=["nobody"]))
    with pytest.raises(NotFound):
        routing.delete_schedule_entry(people.clerk, 999)


def test_times_stay_in_vietnam_time_on_sqlite(tmp_path, people, clock, blobs, signer):
    """SQLite keeps no UTC offset: the schedule stores UTC like the rest of routing, so 08:00 stays 08:00."""
    from services.common.db import Database
    from services.common.settings import CommonSettings
    from services.routing.app import Routing
    from services.routing.models import Base
    from tests.routing.conftest import AGENCY

    db = Database("routing", AGENCY, Base.metadata, CommonSettings(agency_id=AGENCY, data_dir=tmp_path))
    db.create_all()
    try:
        app = Routing(db, AGENCY, sign=signer, blobs=blobs, clock=clock)
        app.sync_staff(people.admin, [{"user_id": "u-leader", "username": "u-leader", "full_name": "Nguyễn Văn An",
                                       "roles": ["leader"]}])
        app.save_schedule_entry(people.clerk, _entry())
        [day] = [d for d in app.schedule_week(people.clerk, "2026-03-03")["days"] if d["entries"]]
        assert day["date"] == "2026-03-03" and day["entries"][0]["time"] == "08:00 – 11:00"
        assert day["entries"][0]["starts_at"].startswith("2026-03-03T08:00:00+07:00")
    finally:
        db.dispose()
