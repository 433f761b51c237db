"""The order of a receiver's statuses about a document (STANDARDS §1.6), for whoever keeps a recipient's last one."""

from __future__ import annotations

# A receiver's statuses follow its lifecycle (STANDARDS §1.6): 01 when the package arrives, 02 or 03 from its
# clerk, then 04 → 05 → 06. The 01 comes from the receiver's edge and the rest from its registry by another way,
# so they can reach the sender in either order; a status that arrives late never takes the recipient's line back.
STATUS_STAGE = {"01": 1, "02": 2, "03": 2, "04": 3, "05": 4, "06": 5}


def status_advances(current: str | None, new: str) -> bool:
    """Whether `new` replaces `current` as a recipient's status (05 may repeat; codes out of the lifecycle, such as
    15/16 answering a recall, always do). Codes are compared as two digits ("3" is "03")."""
    was, now = _two_digits(current), _two_digits(new)
    if was not in STATUS_STAGE or now not in STATUS_STAGE:
        return True
    return STATUS_STAGE[now] >= STATUS_STAGE[was]


def _two_digits(code: str | None) -> str:
    text = str(code or "").strip()
    return text.zfill(2) if text.isdigit() else text
