"""Is this scan the version the leader approved? Every page of the scan of the paper original, read by OCR, against
the same page of the draft version the leader approved on paper (Hưng Yên Đ6.3a: "Sau khi dự thảo được
lãnh đạo phê duyệt, cán bộ xử lý thực hiện chức năng Chuyển phát hành"; the scan is what the clerk then numbers
and seals with the agency's signature, so a wrong file would be issued as the agency's document).

Pure: texts in, a score and the words that differ out (services/routing/scan_check.py reads the files, off the
request path, and asks).

Pages (compare_pages): the paper original is printed from the approved PDF, so its pages are the approved pages in
the same order; page N of the scan is scored against page N of the approved version with the rule below, and the
scan matches only when it has as many pages and every page reaches the threshold. A page one side has and the other
has not is named as missing or extra. Blank pages (fewer than BLANK_WORDS words: the empty back of a sheet scanned
in duplex, a separator sheet) are left out of both sides before pairing and named, so a duplex scan of a three-page
letter is still three pages; a page left out that way on the scan only is still seen when it was a page of text
that could not be read, because the approved page it stood for is then missing (a different count). The score of
the whole scan is its lowest page's: the threshold was measured on single pages, and a rewritten paragraph on one
page of three must not be averaged away by two good pages.

How: both texts are cut into words and folded (services/common/textfold.py: no case, no diacritics, since OCR
loses a tone mark far more often than a whole word), then difflib.SequenceMatcher aligns the two word lists and
the score is its ratio, 2·matched / (words of both), in per cent. Chosen over a Jaccard of word 3-shingles on
measured pages (bench/scan_match.py, docs/routing.md "Is the scan the approved version?"): one misread word breaks
one word of the alignment but three shingles, so the same page scanned scored 89–96 % by the ratio but 55–84 % by
shingles as the scan got worse, which overlaps the 53 % shingles gave a scan of an earlier version with one
paragraph of four rewritten (71–79 % by the ratio); and the alignment says which words differ, which the handler
is shown. The ratio is symmetric: a scan of an earlier version that still has a paragraph the approved one
dropped scores lower too (the share of the approved words found on the scan would not). autojunk is off: on a
page of a few hundred words it would drop the commonest words ("và", "của") from the alignment.

What it cannot see: a scan of a version that differs by a date or a figure scores as the same page (96 %
measured, one number of 250 words); the words shown name the difference, and the handler's eye remains the check
for such small changes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from services.common.textfold import fold

# Below this the screen asks the handler to confirm. Measured: the same page scanned 89–96 %, an earlier version
# with a paragraph rewritten 71–79 %, another letter of the same agency 29 % (docs/routing.md).
THRESHOLD = 85
SHOWN = 8           # words shown of each side's differences: enough to recognise a passage, short on the screen
# A page with fewer words than this is blank: specks, a hole punch, a page number or the seal read as a few words
# by OCR. The shortest page of text in an official letter (the last: recipients and the signature block) has
# more than twenty.
BLANK_WORDS = 5
# The most pages a scan may have (the gateway refuses more at upload, in Vietnamese): a signed letter, decision or
# report is a few pages, its appendices separate files; OCR costs 3–5 s of CPU a page, so 30 pages is a check of
# about two minutes on one core, in the background.
MAX_PAGES = 30
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Match:
    """score: per cent, None when a side has no word to compare (nothing read on the scan)."""

    score: int | None
    missing: list[str] = field(default_factory=list)   # of the approved page, not on the scan
    added: list[str] = field(default_factory=list)     # on the scan, not on the approved page
    scan_words: int = 0
    approved_words: int = 0

    @property
    def readable(self) -> bool:
        return self.score is not None

    @property
    def matches(self) -> bool:
        return self.score is not None and self.score >= THRESHOLD


def words(text: str) -> list[str]:
    """The words as written. One-letter tokens are left out: on a scan they are mostly specks, strokes of the
    signature and the seal read as letters, and the few one-letter Vietnamese words carry no weight here."""
    return [w for w in _WORD.findall(text) if len(w) > 1 or w.isdigit()]


def compare(approved: str, scan: str) -> Match:
    theirs, ours = words(approved), words(scan)
    if not theirs or not ours:
        return Match(None, scan_words=len(ours), approved_words=len(theirs))
    matcher = difflib.SequenceMatcher(None, [fold(w) for w in theirs], [fold(w) for w in ours], autojunk=False)
    missing: list[list[str]] = []
    added: list[list[str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            missing.append(theirs[i1:i2])
            added.append(ours[j1:j2])
    # A word on both sides was moved, not changed: OCR reads the two header columns in another order than the
    # text layer does. The alignment's score counts the move; the handler is shown only what really differs.
    moved = {fold(w) for run in missing for w in run} & {fold(w) for run in added for w in run}
    return Match(round(100 * matcher.ratio()), _shown(missing, moved), _shown(added, moved), len(ours), len(theirs))


def _shown(runs: list[list[str]], moved: set[str]) -> list[str]:
    """The longest differing runs first (a rewritten passage before a misread word), each word once."""
    seen: dict[str, str] = {}
    for run in sorted(runs, key=len, reverse=True):
        for word in run:
            if fold(word) not in moved:
                seen.setdefault(fold(word), word)
            if len(seen) == SHOWN:
                return list(seen.values())
    return list(seen.values())


@dataclass(frozen=True)
class PageMatch:
    """One page of the comparison. `page`: its number among the non-blank pages (the approved version's page
    number when the approved version has no blank page); kind: "same" | "differs" | "unreadable" (a side had no
    word) | "missing" (an approved page the scan has not) | "extra" (a scan page the approved version has not)."""

    page: int
    kind: str
    match: Match | None = None

    @property
    def score(self) -> int | None:
        return self.match.score if self.match else None


@dataclass(frozen=True)
class PagesMatch:
    pages: list[PageMatch]
    scan_pages: int                 # as scanned, blank pages included
    approved_pages: int
    blank_scan_pages: list[int] = field(default_factory=list)      # numbers on the scan as scanned

    @property
    def differing(self) -> list[PageMatch]:
        return [p for p in self.pages if p.kind != "same"]

    @property
    def matches(self) -> bool:
        return bool(self.pages) and not self.differing

    @property
    def score(self) -> int | None:
        """The lowest page's score; None when nothing could be compared (no word read on the scan at all)."""
        scores = [p.score for p in self.pages if p.score is not None]
        return min(scores) if scores else None


def compare_pages(approved: list[str], scan: list[str]) -> PagesMatch:
    """Each page of the scan against the same page of the approved version, blank pages of either side left out."""
    kept_approved = [text for text in approved if not blank(text)]
    kept_scan = [text for text in scan if not blank(text)]
    pages = []
    for n in range(max(len(kept_approved), len(kept_scan))):
        if n >= len(kept_scan):
            pages.append(PageMatch(n + 1, "missing"))
        elif n >= len(kept_approved):
            pages.append(PageMatch(n + 1, "extra"))
        else:
            match = compare(kept_approved[n], kept_scan[n])
            kind = "same" if match.matches else "differs" if match.readable else "unreadable"
            pages.append(PageMatch(n + 1, kind, match))
    if not kept_approved and not kept_scan:  # nothing on either side: one unreadable page, never a match
        pages.append(PageMatch(1, "unreadable", Match(None)))
    return PagesMatch(pages, len(scan), len(approved), [n + 1 for n, text in enumerate(scan) if blank(text)])


def blank(text: str) -> bool:
    return len(words(text)) < BLANK_WORDS
