"""A recipient's last status moves forward only (services/common/status_codes.py): 01 from the receiver's edge can
arrive after 03 from its registry."""

from __future__ import annotations

import pytest

from services.common.status_codes import status_advances


@pytest.mark.parametrize(("current", "new", "replaces"), [
    (None, "01", True),          # the first status
    ("01", "03", True),
    ("03", "01", False),         # the edge's 01 after the registry's 03
    ("3", "01", False),          # written as an integer by some axes
    ("05", "05", True),          # 05 may repeat (its description and time are the newest)
    ("06", "05", False),
    ("05", "04", False),
    ("02", "01", False),
    ("03", "02", True),          # same stage: the later word stands
    ("06", "15", True),          # an answer to a recall is outside the lifecycle
    ("15", "01", True),
])
def test_a_status_replaces_the_last_only_when_it_is_not_behind(current, new, replaces):
    assert status_advances(current, new) is replaces
