"""The search page's pure parts: which filters were filled, page links, the result summary in Vietnamese."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from gateway.search import ResultPage, filters_of, page_link


def test_only_filled_filters_are_sent_and_links_keep_them():
    filters = filters_of({"text": " quyet dinh ", "issuer": "", "type_code": "QĐ", "trang": "2", "other": "x"})
    assert filters == {"text": "quyet dinh", "type_code": "QĐ"}
    link = urlparse(page_link(filters, 3))
    assert link.path == "/tra-cuu" and parse_qs(link.query) == {"text": ["quyet dinh"], "type_code": ["QĐ"],
                                                                 "trang": ["3"]}


def test_summary_says_how_many_and_asks_to_narrow_when_capped():
    assert ResultPage(total=0).summary == "Không tìm thấy văn bản nào."
    assert ResultPage(total=1234).summary == "Tìm thấy 1.234 văn bản."
    capped = ResultPage(items=[{}] * 20, total=1000, capped=True, page=1, size=20)
    assert capped.summary.startswith("Có hơn 1.000 văn bản phù hợp") and "thu hẹp" in capped.summary
    assert capped.has_next and not ResultPage(items=[{}] * 20, total=1000, page=50, size=20).has_next
    assert not ResultPage(items=[{}] * 3, total=3).has_next
