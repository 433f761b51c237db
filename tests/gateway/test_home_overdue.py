"""The leader's home panel "Văn bản quá hạn" (gateway/web.py) from routing's unit progress, whose row of a unit
repeats the items of the units under it (a Chi cục's row counts its phòng's): each overdue document once."""

from __future__ import annotations

from gateway.web import _unit_overdue


def test_an_overdue_item_of_a_sub_unit_is_listed_once_under_its_own_unit():
    late, other = {"incoming_id": "N-1", "subject": "Dự án đầu tư"}, {"incoming_id": "N-2", "subject": "Báo cáo"}
    progress = [{"unit": "KT", "overdue_items": [late, other]}, {"unit": "KT1", "overdue_items": [late]},
                {"unit": "TH", "overdue_items": []}]
    assert [(i["incoming_id"], i["unit"]) for i in _unit_overdue(progress)] == [("N-1", "KT1"), ("N-2", "KT")]
