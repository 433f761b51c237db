"""Agency electronic identifiers (mã định danh điện tử), STANDARDS.md §2 and §8.4.

Two grammars coexist: the legacy 13-character code read right to left (`000.00.09.H60`: level-1 body H60,
level-2 unit 09) and the post-2025 code read left to right (`H01.151.01`). Both are kept as sent; these
helpers only validate, normalise and derive the hierarchy. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Literal

from services.common.errors import ValidationFailed

LEGACY_ORGAN_ID = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z]\d{2})$")
NEW_ORGAN_ID = re.compile(r"^[A-Z]\d{2}(?:\.[0-9A-Z]{1,4}){0,8}$")
NEW_MAX_LENGTH = 35

Kind = Literal["legacy", "new"]


class InvalidOrganId(ValidationFailed):
    code = "invalid_organ_id"


def normalize(organ_id: str) -> str:
    """Trim, drop inner blanks and upper-case: `' 000.00.09.h60 '` -> `'000.00.09.H60'`."""
    return re.sub(r"\s+", "", organ_id or "").upper()


def kind(organ_id: str) -> Kind | None:
    """`"legacy"`, `"new"` or None when the text is neither grammar (no normalisation applied)."""
    if LEGACY_ORGAN_ID.match(organ_id):
        return "legacy"
    if len(organ_id) <= NEW_MAX_LENGTH and NEW_ORGAN_ID.match(organ_id):
        return "new"
    return None


def is_valid(organ_id: str) -> bool:
    return kind(organ_id) is not None


def validate(organ_id: str) -> str:
    """The normalised identifier, or InvalidOrganId with a Vietnamese message."""
    value = normalize(organ_id)
    if not is_valid(value):
        raise InvalidOrganId(
            f"Mã định danh “{organ_id}” không đúng định dạng (000.00.00.H60 hoặc H01.151.01).",
            details={"organ_id": organ_id},
        )
    return value


def _legacy_groups(organ_id: str) -> tuple[str, str, str, str]:
    match = LEGACY_ORGAN_ID.match(organ_id)
    if not match:
        raise InvalidOrganId(f"Mã định danh “{organ_id}” không đúng định dạng.", details={"organ_id": organ_id})
    return match.group(1), match.group(2), match.group(3), match.group(4)


def level1_code(organ_id: str) -> str:
    """The level-1 body: `000.00.09.H60` -> `H60`, `H01.151.01` -> `H01`, `G09.20` -> `G09`."""
    value = validate(organ_id)
    if kind(value) == "legacy":
        return _legacy_groups(value)[3]
    return value.split(".", 1)[0]


def level(organ_id: str) -> int:
    """1 for a ministry or province, 2 for a sở or district, 3 and 4 below (STANDARDS §2.1).

    Legacy codes: the leftmost non-zero group decides (`000.21.31.H53` is level 3). Post-2025 codes: the
    number of dot-separated groups (`H01.151.01` is level 3).
    """
    value = validate(organ_id)
    if kind(value) == "new":
        return value.count(".") + 1
    lll, kk, jj, _ = _legacy_groups(value)
    if lll != "000":
        return 4
    if kk != "00":
        return 3
    if jj != "00":
        return 2
    return 1


def parent(organ_id: str) -> str | None:
    """The identifier of the unit one level up, derived from the code alone; None for a level-1 body.

    Legacy: zero the leftmost non-zero group (`000.21.31.H53` -> `000.00.31.H53` -> `000.00.00.H53`).
    Post-2025: drop the last group (`H01.151.01` -> `H01.151` -> `H01`). The directory may know better
    (a unit re-parented by the 2025 reorganisation); this is only the structural parent.
    """
    value = validate(organ_id)
    if kind(value) == "new":
        return value.rsplit(".", 1)[0] if "." in value else None
    lll, kk, jj, x = _legacy_groups(value)
    if lll != "000":
        return f"000.{kk}.{jj}.{x}"
    if kk != "00":
        return f"000.00.{jj}.{x}"
    if jj != "00":
        return f"000.00.00.{x}"
    return None


def level1_id(organ_id: str) -> str:
    """The identifier of the level-1 body in the same grammar: `000.00.09.H60` -> `000.00.00.H60`."""
    value = validate(organ_id)
    code = level1_code(value)
    return f"000.00.00.{code}" if kind(value) == "legacy" else code
