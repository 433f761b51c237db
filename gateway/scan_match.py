"""Is this scan the version the leader approved? The first page of the scan of the paper original, read by OCR,
against the first page of the draft version the leader approved on paper (Hưng Yên Đ6.3a: "Sau khi dự thảo được
lãnh đạo phê duyệt, cán bộ xử lý thực hiện chức năng Chuyển phát hành"; the scan is what the clerk then numbers
and seals with the agency's signature, so a wrong file would be issued as the agency's document).

Pure: texts in, a score and the words that differ out (gateway/drafting.py reads the files and asks).

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
