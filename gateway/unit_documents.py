""""Văn bản ban hành gửi đơn vị": the outgoing documents the agency issued to the caller's own unit (recipients of
channel `internal`, "Gửi nội bộ" at issue), with their state (đã thu hồi, đã lấy lại, đã cập nhật). Routing keeps the
list from the registry's events and notifies the unit's people (services/routing/unit_documents.py); each row opens
the document page, which every person of the agency may read once issued (services/registry/domain.can_view).
The screen /van-ban-don-vi and GET /api/v1/unit-documents read the same list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Security
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from gateway.api import COMMON_ERRORS, PageNo, PageSize, bearer
from gateway.api_handling import operation_name
from gateway.app import Gateway, Viewer, gw, render, viewer

TITLE = "Văn bản ban hành gửi đơn vị"
PER_PAGE = 50
router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name)


class UnitDocument(BaseModel):
    outgoing_id: str = Field(description="The document's id: GET /outgoing/{id}, the page /van-ban/{id}")
    unit: str = Field(description="Mã đơn vị nhận (upper case)")
    number: str = Field(description="Số, ký hiệu, e.g. 12/UBND-TH")
    subject: str = Field(description="Trích yếu (the updated one after an update)")
    issued_at: str | None = Field(None, description="Ban hành lúc (giờ Việt Nam)")
    state: str = Field(description="The registry's state: issued | recalled")
    state_label: str
    change: str | None = Field(None, description="The last change: recall | take_back | update | restored (a recall "
                               "its recipients refused) | replaced; null: none")
    change_label: str | None = None
    change_reason: str | None = Field(None, description="Lý do of the change")
    changed_at: str | None = Field(None, description="Giờ Việt Nam")


class UnitDocuments(BaseModel):
    unit: str | None = Field(description="The caller's unit; null: the account belongs to no unit (empty list)")
    unit_name: str | None = None
    items: list[UnitDocument]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    size: int = Field(ge=1)


@router.get("/unit-documents", response_model=UnitDocuments, tags=["Văn bản đi"],
            summary="Văn bản ban hành gửi đơn vị của tôi",
            description="The agency's outgoing documents issued to the caller's unit (“Gửi nội bộ”), newest first, "
                        "with their state; the screen /van-ban-don-vi.")
def unit_documents(page: int = PageNo, size: int = PageSize, v: Viewer = Depends(viewer),
                   g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "list_unit_documents", page, size)


def install(app: FastAPI) -> None:
    @app.get("/van-ban-don-vi", response_class=HTMLResponse, include_in_schema=False)
    def unit_documents_page(request: Request, trang: int = Query(1, ge=1, le=100_000), v: Viewer = Depends(viewer),
                            g: Gateway = Depends(gw)):
        found = g.backends.call(v.actor, "routing", "list_unit_documents", trang, PER_PAGE)
        last = max(1, -(-found["total"] // PER_PAGE))
        return render(request, "unit_documents.html", v, title=TITLE, found=found, page=trang, last=last,
                      previous=f"/van-ban-don-vi?trang={min(trang, last + 1) - 1}" if trang > 1 else None,
                      next=f"/van-ban-don-vi?trang={trang + 1}" if trang < last else None)

    app.include_router(router)
