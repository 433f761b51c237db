"""The leader's home panel "Văn bản quá hạn" (gateway/web.py) from routing's unit progress, whose row of a unit
repeats the items of the units under it (a Chi cục's row counts its phòng's): each overdue document once."""

from __future__ import annotations

from gateway.web import _overdue_count, _unit_overdue


def test_an_overdue_item_of_a_sub_unit_is_listed_once_under_its_own_unit():
    late, other = {"incoming_id": "N-1", "subject": "Dự án đầu tư"}, {"incoming_id": "N-2", "subject": "Báo cáo"}
    progress = [{"unit": "KT", "overdue_items": [late, other]}, {"unit": "KT1", "overdue_items": [late]},
                {"unit": "TH", "overdue_items": []}]
    assert [(i["incoming_id"], i["unit"]) for i in _unit_overdue(progress)] == [("N-1", "KT1"), ("N-2", "KT")]


def test_the_overdue_count_counts_a_sub_units_documents_once():
    progress = [{"unit": "KT", "parent": None, "overdue": 2}, {"unit": "KT1", "parent": "KT", "overdue": 1},
                {"unit": "TH", "parent": None, "overdue": 3}, {"unit": "", "parent": None, "overdue": 0}]
    assert _overdue_count(progress) == 5
    # a department head's rows start at their own unit, whose parent is not among them
    assert _overdue_count([{"unit": "KT1", "parent": "KT", "overdue": 1}]) == 1
