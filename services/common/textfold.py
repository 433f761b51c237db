"""Folding Vietnamese text for matching: lower case, no diacritics, đ → d, so "quyet dinh" matches "quyết định".

Pure and shared: the registry's search indexes and queries with it, and the gateway compares a paper scan's text
with the approved draft's (services/routing/scan_match.py) with the same rule.
"""

from __future__ import annotations

import re
import unicodedata

# The Unicode blocks of combining marks (Vietnamese tones and the horn/breve/circumflex are all in the first):
# one regex pass instead of a Python test per character, which dominated indexing of long texts.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(value: str) -> str:
    """'Quyết định ĐIỀU CHỈNH' -> 'quyet dinh dieu chinh'."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    return re.sub(r"\s+", " ", _COMBINING.sub("", decomposed).lower()).strip()


def terms(query: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", fold(query))
