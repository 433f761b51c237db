"""The open registers a clerk's page or request numbers a document in (this year's, not closed)."""

from __future__ import annotations

from typing import Any

from gateway.app import Gateway, Viewer
from services.common import clock
from services.common.errors import ValidationFailed


def _registers(g: Gateway, v: Viewer, direction: str) -> list[dict[str, Any]]:
    # A closed register (khóa sổ) gives no more numbers: never offer it to the clerk.
    return [r for r in g.backends.call(v.actor, "registry", "list_registers", year=clock.today_vn().year,
                                       direction=direction) if not r.get("closed")]


def default_register(g: Gateway, v: Viewer, direction: str) -> str:
    """The register a request names none of: the first open one of this year, or why there is none."""
    registers = _registers(g, v, direction)
    if not registers:
        word = "đến" if direction == "incoming" else "đi"
        raise ValidationFailed(f"Chưa có sổ văn bản {word} của năm nay; quản trị viên cần tạo sổ.", field="register")
    return registers[0]["id"]
