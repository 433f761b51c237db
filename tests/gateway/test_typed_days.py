"""Days typed on any keyboard reach the services as ISO days (a phone's number pad has no "/"; app.js may not
have run)."""

from __future__ import annotations

import pytest

from gateway.dates import typed_day, typed_days


@pytest.mark.parametrize("typed", ["05/03/2026", "5/3/2026", "05-03-2026", "05.03.2026", "05 03 2026", "05032026",
                                   "2026-03-05", " 05.03.2026 "])
def test_every_way_of_typing_a_day_is_the_same_iso_day(typed):
    assert typed_day(typed) == "2026-03-05"


def test_empty_is_no_day_and_anything_else_is_left_for_the_service_to_refuse():
    assert typed_day("") is None and typed_day(None) is None and typed_day("   ") is None
    assert typed_day("31022026") == "31022026"  # no 31 February: refused by the service, field named
    assert typed_day("ngày mai") == "ngày mai"
    assert typed_day("2026-03-05T17:00:00+07:00") == "2026-03-05T17:00:00+07:00"  # the API's moment passes


def test_named_fields_of_a_query_are_read_as_days():
    assert typed_days({"text": "05032026", "date_from": "05032026", "date_to": ""}, "date_from", "date_to") == \
        {"text": "05032026", "date_from": "2026-03-05"}
