from datetime import UTC, datetime

import pytest

from gateway.accounts import LockoutPolicy, account_name, ascii_fold, check_account_name, check_password


@pytest.mark.parametrize(("full_name", "unit", "expected"), [
    ("Lê Văn Hùng", "STTTT", "hunglv.stttt"),
    ("Nguyễn Thị Đào", "VP", "daont.vp"),
    ("Đặng Quốc Việt", "Sở Nội vụ", "vietdq.sonoivu"),
    ("  Trần   An  ", "ubnd", "ant.ubnd"),
])
def test_account_name_follows_the_rule(full_name, unit, expected):
    assert account_name(full_name, unit) == expected
    assert check_account_name(expected) is None


def test_account_names_with_spaces_or_diacritics_are_refused():
    assert check_account_name("hùng.lv") is not None
    assert check_account_name("hung lv.vp") is not None
    assert check_account_name("hunglv") is not None
    assert check_account_name("hunglv2.vp") is None


def test_ascii_fold_handles_d_with_stroke():
    assert ascii_fold("Đà Nẵng, đường") == "Da Nang, duong"


def test_password_policy_explains_in_vietnamese():
    assert "10 ký tự" in check_password("Ab1!")
    assert "3 trong 4" in check_password("abcdefghijkl")
    assert "tên tài khoản" in check_password("Hunglv-2026!x", "hunglv.vp")
    assert check_password("Mat-khau-2026!", "hunglv.vp") is None


def test_lockout_policy_locks_at_the_threshold():
    now = datetime(2026, 11, 21, tzinfo=UTC)
    policy = LockoutPolicy(max_failures=3)
    assert policy.after_failure(2, now) is None
    assert policy.after_failure(3, now) == now + policy.lock_for
