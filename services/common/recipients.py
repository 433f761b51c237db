"""A recipient's name as a register writes it in "Nơi nhận" (NĐ 30 Phụ lục IV, sổ văn bản đi cột 5): those not
reached over the interconnect are marked, on the registry's register screens and in reporting's printed registers
alike."""

from __future__ import annotations

CHANNEL_NOTES = {"paper": "bản giấy", "internal": "nội bộ"}


def recipient_label(name: str, channel: str | None) -> str:
    note = CHANNEL_NOTES.get(channel or "")
    return f"{name} ({note})" if note else name
