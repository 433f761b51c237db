"""REST routes for opening next year's registers (gateway/year_registers.py, services/registry/year_registers.py):
the agency's own (administrator, or clerk where the agency's rule lets clerks open registers) and, for the
province operator, every hosted agency's. The operation is idempotent by agency and year: called again it opens
nothing twice, so the routes need no Idempotency-Key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Security
from pydantic import BaseModel, Field

from gateway import year_registers as ops
from gateway.admin import register_post
from gateway.api import COMMON_ERRORS, Register, _problem, bearer
from gateway.app import Gateway, Viewer, gw, viewer
from gateway.province import operator_post, operator_viewer

TAG = "Sổ văn bản"
router = APIRouter(prefix="/api/v1/year-registers", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   tags=[TAG])
Year = Query(None, ge=2000, le=2100, description="Năm của sổ; mặc định năm sau (giờ Việt Nam)")


class Missing(BaseModel):
    direction: str = Field(description="incoming | outgoing | copies")
    scope: str
    label: str
    name: str = Field(description="Tên sổ sẽ mở (tên sổ năm trước, thay năm)")
    from_name: str = Field(description="Tên sổ năm trước")
    from_id: str


class YearRegisters(BaseModel):
    year: int
    from_year: int
    registers: list[Register] = Field(description="Các sổ của năm đã mở")
    missing: list[Missing] = Field(description="Các sổ năm trước chưa có sổ tương ứng trong năm")
    opened: list[Register] = Field([], description="Các sổ lần gọi này vừa mở (gọi lại: rỗng)")


class YearOpening(BaseModel):
    year: int | None = Field(None, ge=2000, le=2100, description="Mặc định năm sau; chỉ năm nay hoặc năm sau")


class AgencyYear(BaseModel):
    organ_id: str
    name: str
    disabled: bool
    open: int = Field(description="Số sổ của năm đã mở")
    missing: list[Missing]
    error: str | None = Field(None, description="Không đọc được sổ của cơ quan: lý do")


class BulkOpening(YearOpening):
    organ_ids: list[str] | None = Field(None, max_length=5000,
                                        description="Các cơ quan cần mở; mặc định mọi cơ quan đang sử dụng")


class AgencyOpened(BaseModel):
    organ_id: str
    name: str
    opened: list[Register]
    missing: list[Missing] = Field(description="Còn thiếu sau lần mở (thường rỗng)")
    error: str | None = Field(None, description="Cơ quan này không mở được sổ: lý do (các cơ quan khác vẫn mở)")


@router.get("", response_model=YearRegisters, summary="Các sổ năm sau của cơ quan: đã mở, còn thiếu")
def status(year: int | None = Year, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "registry", "year_registers", year or ops.next_year())


@router.post("/open", response_model=YearRegisters, summary="Mở các sổ năm sau theo các sổ năm nay",
             responses={422: _problem("Năm không phải năm nay hoặc năm sau (`bad_year`)")},
             description="Quản trị (văn thư khi quy định của cơ quan cho phép mở sổ). Mở mỗi sổ năm trước còn thiếu "
                         "(cùng loại sổ, cùng phạm vi; tên sổ thay năm), số bắt đầu từ 01. Gọi lại: không mở trùng.")
def open_year(body: YearOpening, v: Viewer = Depends(register_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "registry", "open_year_registers", body.year or ops.next_year())


@router.get("/agencies", response_model=list[AgencyYear], tags=["Vận hành nền tảng"],
            summary="Các cơ quan trên nền tảng và các sổ năm sau chưa mở")
def agencies(year: int | None = Year, _v: Viewer = Depends(operator_viewer),
             g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return ops.agencies_status(g, g.platform.agencies(), year or ops.next_year())


@router.post("/agencies/open", response_model=list[AgencyOpened], tags=["Vận hành nền tảng"],
             summary="Mở sổ năm sau cho các cơ quan chưa mở",
             description="Vận hành nền tảng (Sở TTTT), thay mặt từng cơ quan. Một cơ quan lỗi không dừng các cơ quan "
                         "khác: `error` của cơ quan đó nói lý do.")
def open_agencies(body: BulkOpening, v: Viewer = Depends(operator_post),
                  g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return ops.open_for(g, ops.chosen(g, body.organ_ids), body.year or ops.next_year(), v.user.username)


def install(app: FastAPI) -> None:
    app.include_router(router)
