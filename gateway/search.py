"""Tra cứu: documents by their attributes and by words inside them, only what the person may see (the registry's
search applies the agency and draft visibility; the gateway never filters results itself)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from gateway.app import Gateway, Viewer, gw, render, viewer
from gateway.dates import typed_days
from gateway.web import People
from services.common.errors import CongVanError
from services.registry.catalog import DOCUMENT_TYPES, URGENCY_LABELS
from services.registry.domain import STATE_LABELS

PAGE_SIZE = 20
# Form field -> registry filter; the form uses the registry's names so a search can be bookmarked and shared.
FILTER_FIELDS = ("text", "number", "notation", "issuer", "date_from", "date_to", "type_code", "signer", "priority",
                 "state", "register_id", "direction", "handler")
DIRECTION_LABELS = {"incoming": "Văn bản đến", "outgoing": "Văn bản đi"}


@dataclass
class ResultPage:
    items: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    capped: bool = False
    page: int = 1
    size: int = PAGE_SIZE
    error: str | None = None

    @property
    def has_next(self) -> bool:
        return len(self.items) == self.size and self.page * self.size < self.total

    @property
    def summary(self) -> str:
        if self.capped:
            return f"Có hơn {self.total:,} văn bản phù hợp, chỉ hiện {self.total:,} văn bản; ".replace(",", ".") + \
                "hãy thêm điều kiện (ngày, loại, cơ quan ban hành…) để thu hẹp."
        return f"Tìm thấy {self.total:,} văn bản.".replace(",", ".") if self.total else "Không tìm thấy văn bản nào."


def filters_of(params: dict[str, str]) -> dict[str, str]:
    """The filters a person filled in (empty fields ignored)."""
    filled = {k: params[k].strip() for k in FILTER_FIELDS if (params.get(k) or "").strip()}
    return typed_days(filled, "date_from", "date_to")


def page_link(filters: dict[str, str], page: int) -> str:
    return "/tra-cuu?" + urllib.parse.urlencode({**filters, "trang": page})


def result_page(g: Gateway, v: Viewer, filters: dict[str, Any], page: int = 1, size: int = PAGE_SIZE) -> ResultPage:
    try:
        found = g.backends.call(v.actor, "registry", "search_documents", filters, page, size)
    except CongVanError as exc:
        return ResultPage(page=page, size=size, error=exc.message_vi)
    for item in found["items"]:
        item["priority_label"] = URGENCY_LABELS.get(item.get("priority") or 0, "")
        item["direction_label"] = DIRECTION_LABELS.get(item.get("direction"), "")
    return ResultPage(found["items"], found["total"], bool(found.get("total_capped")), found["page"], found["size"])


def _choices(g: Gateway, v: Viewer) -> dict[str, Any]:
    try:
        registers = g.backends.call(v.actor, "registry", "list_registers")
    except CongVanError:
        registers = []
    return {"types": sorted(DOCUMENT_TYPES.items(), key=lambda kv: kv[1]),
            "priorities": [(int(k), label) for k, label in URGENCY_LABELS.items()],
            "states": list(STATE_LABELS.items()), "directions": list(DIRECTION_LABELS.items()),
            "registers": registers, "people": People(g, v.user.agency_id).active()}


def install(app: FastAPI) -> None:
    @app.get("/tra-cuu", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, trang: int = 1, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        filters = filters_of(dict(request.query_params))
        results = result_page(g, v, filters, max(1, trang)) if filters else None
        return render(request, "search_page.html", v, filters=filters, results=results,
                      previous=page_link(filters, trang - 1) if trang > 1 else None,
                      next=page_link(filters, trang + 1) if results and results.has_next else None,
                      **_choices(g, v))
