"""Every page of a paper scan against the same page of the approved version (services/routing/scan_match.py
compare_pages): pure, texts in. The words are the test letter's (tests/gateway/scan_pages.py); the single-page
score on real OCR is tests/gateway/test_scan_match.py's."""

from __future__ import annotations

from services.routing.scan_match import THRESHOLD, compare_pages
from tests.gateway.scan_pages import EARLIER_PLAN_THIRD, INVENTORY, PLAN

PAGE_1 = " ".join([*INVENTORY[:2], *INVENTORY[2]])
PAGE_2 = " ".join(PLAN[0])
PAGE_3 = " ".join(PLAN[1])
PAGE_2_EARLIER = " ".join([*PLAN[0][:2], EARLIER_PLAN_THIRD, PLAN[0][3]])


def test_the_same_pages_match():
    result = compare_pages([PAGE_1, PAGE_2, PAGE_3], [PAGE_1.lower(), PAGE_2, PAGE_3])
    assert result.matches and result.score == 100 and result.differing == []
    assert (result.scan_pages, result.approved_pages) == (3, 3)


def test_a_rewritten_paragraph_on_page_2_is_flagged_with_its_words():
    result = compare_pages([PAGE_1, PAGE_2, PAGE_3], [PAGE_1, PAGE_2_EARLIER, PAGE_3])
    assert not result.matches
    [page] = result.differing
    assert (page.page, page.kind) == (2, "differs") and page.score < THRESHOLD
    assert result.score == page.score          # the lowest page decides: two good pages do not average it away
    assert {"hồ", "giấy", "chứng"} <= set(page.match.missing) and {"biên", "bản", "gần"} <= set(page.match.added)


def test_a_missing_and_an_extra_page_are_flagged():
    missing = compare_pages([PAGE_1, PAGE_2, PAGE_3], [PAGE_1, PAGE_2])
    assert not missing.matches and [(p.page, p.kind) for p in missing.differing] == [(3, "missing")]
    assert missing.score == 100     # the pages there match; the page count alone refuses it
    extra = compare_pages([PAGE_1, PAGE_2], [PAGE_1, PAGE_2, PAGE_3])
    assert not extra.matches and [(p.page, p.kind) for p in extra.differing] == [(3, "extra")]


def test_a_page_dropped_from_the_middle_shifts_the_rest_and_is_seen():
    result = compare_pages([PAGE_1, PAGE_2, PAGE_3], [PAGE_1, PAGE_3])
    assert [(p.page, p.kind) for p in result.differing] == [(2, "differs"), (3, "missing")]


def test_blank_backs_of_a_duplex_scan_are_left_out_and_named():
    speck = " ' i . l — 2 "
    result = compare_pages([PAGE_1, PAGE_2, PAGE_3], [PAGE_1, "", PAGE_2, speck, PAGE_3, "\f"])
    assert result.matches and result.blank_scan_pages == [2, 4, 6] and result.scan_pages == 6


def test_nothing_read_is_unreadable_never_a_match():
    nothing = compare_pages([PAGE_1], ["", " . "])
    assert not nothing.matches and nothing.score is None
    assert [(p.page, p.kind) for p in nothing.differing] == [(1, "missing")]
    empty = compare_pages([], [])
    assert not empty.matches and [p.kind for p in empty.pages] == ["unreadable"]
