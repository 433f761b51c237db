"""The file plan form's text format (pure parsing; the registry checks notations and retention)."""

from __future__ import annotations

import pytest

from gateway.dossiers import parse_plan_lines, plan_tree
from services.common.errors import ValidationFailed


def test_plan_lines_become_headings_and_items():
    headings, items = parse_plan_lines("I | Tổng hợp | TH\n\n II | Tổ chức, cán bộ ",
                                       "I | 01.TH | Kế hoạch công tác năm | 20 năm | Phòng Tổng hợp\n"
                                       "II | 02.TCCB | Hồ sơ tuyển dụng | Vĩnh viễn | Phòng TCCB | theo Đề án 1")
    assert headings == [{"code": "I", "title": "Tổng hợp", "abbreviation": "TH"},
                        {"code": "II", "title": "Tổ chức, cán bộ", "abbreviation": ""}]
    assert items[1] == {"heading": "II", "file_notation": "02.TCCB", "title": "Hồ sơ tuyển dụng",
                        "retention": "Vĩnh viễn", "creator": "Phòng TCCB", "note": "theo Đề án 1"}


@pytest.mark.parametrize(("headings", "items", "message"), [
    ("I | Tổng hợp", "", "Danh mục hồ sơ phải có ít nhất một hồ sơ."),
    ("I", "I | 01.TH | Kế hoạch | 20 năm", "Dòng 1 của phần “Đề mục” không đúng mẫu"),
    ("", "I | 01.TH | Kế hoạch | 20 năm\nI | 02.TH | | 10 năm", "Dòng 2 của phần “Hồ sơ” không đúng mẫu"),
])
def test_a_malformed_plan_is_refused_in_vietnamese(headings, items, message):
    with pytest.raises(ValidationFailed, match=message):
        parse_plan_lines(headings, items)


def test_plan_tree_groups_items_under_their_heading():
    plan = {"headings": [{"id": "h1", "code": "I"}],
            "items": [{"heading_id": "h1", "file_notation": "01"}, {"heading_id": None, "file_notation": "09"}]}
    tree = plan_tree(plan)
    assert [(g["heading"] or {}).get("code") for g in tree] == ["I", None]
    assert [i["file_notation"] for g in tree for i in g["items"]] == ["01", "09"]
