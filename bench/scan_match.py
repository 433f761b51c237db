"""Measures the check of a paper scan against the approved draft (services/routing/scan_match.py): the score of the same
page scanned, of an earlier version with a paragraph rewritten, of an earlier version with one date changed, and
of another document of the same agency, by difflib's ratio on folded words (what routing uses) and by a
Jaccard of word 3-shingles (the alternative weighed), with the CPU time of each OCR; then the check of every page
(services/routing/scan_check.py) on a three-page letter: the same pages scanned, page 2 from an earlier version
with one paragraph of four rewritten, a page missing, and a duplex scan with blank backs, with each page's score
and the wall and CPU time of the whole check.

    PYTHONPATH=. .venv/bin/python -m bench.scan_match
"""

from __future__ import annotations

import time

from gateway.scans import first_page_text
from services.common.pdf_pages import page_count, page_texts
from services.common.textfold import fold
from services.routing.scan_match import compare, compare_pages, words
from tests.gateway import scan_pages as pages


def shingles(text: str, k: int = 3) -> set[tuple[str, ...]]:
    folded = [fold(w) for w in words(text)]
    return {tuple(folded[i:i + k]) for i in range(max(len(folded) - k + 1, 0))}


def jaccard(a: str, b: str) -> int:
    x, y = shingles(a), shingles(b)
    return round(100 * len(x & y) / len(x | y)) if x | y else 0


def main() -> None:
    approved = pages.inventory()
    changed_date = pages.inventory([*pages.INVENTORY[2][:2], pages.INVENTORY[2][2].replace("15 tháng 01",
                                                                                            "30 tháng 01"),
                                    pages.INVENTORY[2][3]])
    cases = [("same page, 150 dpi", pages.scanned(approved, 1)), ("same page, 150 dpi, seed 2",
                                                                 pages.scanned(approved, 2)),
             ("same page, 200 dpi", pages.scanned(approved, 3, dpi=200)),
             ("same page, 300 dpi", pages.scanned(approved, 4, dpi=300)),
             ("same page, 100 dpi (a poor scan)", pages.scanned(approved, 8, dpi=100)),
             ("earlier version, one date changed", pages.scanned(changed_date, 5)),
             ("earlier version, 2nd paragraph rewritten", pages.scanned(pages.inventory_earlier(), 6)),
             ("another letter of the agency", pages.scanned(pages.flood(), 7)),
             ("blank page", pages.blank_scan())]
    reference, how = first_page_text(approved)
    print(f"approved page: {len(words(reference))} words ({how})")
    for name, scan in cases:
        cpu = time.process_time()
        wall = time.monotonic()
        text, how = first_page_text(scan)
        match = compare(reference, text)
        print(f"{name:42} ratio {match.score!s:>4} %  shingles {jaccard(reference, text):>3} %  "
              f"{how or '-':4} {match.scan_words:3} words  OCR {time.monotonic() - wall:4.1f} s wall "
              f"(gateway CPU {time.process_time() - cpu:.2f} s)  missing {match.missing} added {match.added}")

    pages_main()


def pages_main() -> None:
    approved = pages.plan()
    cases = [("3 pages, the same, seed 1", pages.scanned(approved, 1)),
             ("3 pages, the same, seed 11", pages.scanned(approved, 11)),
             ("3 pages, the same, 100 dpi", pages.scanned(approved, 21, dpi=100)),
             ("3 pages, duplex (blank backs)", pages.with_blank_backs(pages.scanned(approved, 31))),
             ("3 pages, page 2 earlier, seed 6", pages.scanned(pages.plan(earlier=True), 6)),
             ("3 pages, page 2 earlier, seed 16", pages.scanned(pages.plan(earlier=True), 16)),
             ("2 pages of 3 (page 3 missing)", pages.scanned(pages.plan(pages=2), 41))]
    reference = [p.text for p in page_texts(approved, page_count(approved))]
    for name, scan in cases:
        cpu, children, wall = time.process_time(), _children_cpu(), time.monotonic()
        result = compare_pages(reference, [p.text for p in page_texts(scan, page_count(scan))])
        scores = ", ".join(f"p{p.page} {p.kind} {p.score}" for p in result.pages)
        print(f"{name:36} lowest {result.score!s:>4} %  matches {result.matches!s:5}  {scores:48} "
              f"{time.monotonic() - wall:5.1f} s wall, worker CPU {time.process_time() - cpu:.2f} s, "
              f"tools' CPU {_children_cpu() - children:.1f} s")


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
