"""REST API of issue 19's office features: the dossiers that hold a document (Đà Nẵng Đ5.4b item 5) and the
leadership's work schedule (Bình Định Đ3.1, gateway/schedule.py). Same services and rules as the screens; errors
are problem+json (gateway/api.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Response, Security
from pydantic import BaseModel, Field

from gateway.api import COMMON_ERRORS, DOC_ID, NOT_FOUND, bearer
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from services.common import clock

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])


class DossierRef(BaseModel):
    id: str
    title: str
    file_notation: str = Field(description="Số và ký hiệu hồ sơ, e.g. 01.TCCB")
    year: int
    state: str = Field(description="open | closed | submitted | archived")
    state_label: str
    keeper: str = Field(description="User id of the person who keeps the dossier")
    keeper_name: str
    added_by: str = Field(description="Who filed the document (the clerk or the handler who issued it)")


@router.get("/documents/{doc_id}/dossiers", response_model=list[DossierRef], responses=NOT_FOUND, tags=["Hồ sơ"],
            summary="Các hồ sơ chứa văn bản")
def document_dossiers(doc_id: str = Path(pattern=DOC_ID), v: Viewer = Depends(viewer),
                      g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    g.backends.call(v.actor, "registry", "get_document", doc_id)  # missing or not visible: 404/403 as elsewhere
    return g.backends.call(v.actor, "registry", "dossiers_of_document", doc_id)


class ScheduleLeader(BaseModel):
    user_id: str
    name: str
    position: str = ""


class ScheduleDocument(BaseModel):
    id: str = Field(description="A registry document id (văn bản đến or đi)")
    label: str


class ScheduleEntry(BaseModel):
    id: int
    date: str
    time: str = Field(description="“08:00 – 11:00”, Vietnam time")
    starts_at: str
    ends_at: str | None = None
    title: str
    place: str = ""
    leaders: list[ScheduleLeader] = []
    attendees: str = ""
    preparing_unit: str = ""
    documents: list[ScheduleDocument] = []


class ScheduleDay(BaseModel):
    date: str
    weekday: str
    entries: list[ScheduleEntry]


class ScheduleWeek(BaseModel):
    week_start: str = Field(description="Monday of the week")
    week_end: str
    previous: str
    next: str
    published: bool = Field(description="Staff see the entries only once the office published the week")
    published_at: str | None = None
    note: str = ""
    can_edit: bool
    count: int
    days: list[ScheduleDay]


class ScheduleEntryIn(BaseModel):
    starts_at: str = Field(description="YYYY-MM-DDTHH:MM, Vietnam time")
    ends_at: str | None = None
    title: str = Field(min_length=1, max_length=2000)
    place: str = Field("", max_length=300)
    leaders: list[str] = Field([], description="User ids of the leaders who chair or attend")
    attendees: str = Field("", max_length=2000)
    preparing_unit: str = Field("", max_length=200)
    documents: list[ScheduleDocument] = []


class Publish(BaseModel):
    week: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Any day of the week, YYYY-MM-DD")
    note: str = Field("", max_length=2000)


@router.get("/schedule", response_model=ScheduleWeek, tags=["Lịch công tác"],
            summary="Lịch công tác của lãnh đạo trong tuần")
def schedule_week(week: str | None = Query(None, pattern=r"^\d{4}-\d{2}-\d{2}$",
                                           description="Any day of the week, YYYY-MM-DD; default: this week"),
                  v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "schedule_week", week or clock.today_vn().isoformat())


@router.post("/schedule/entries", response_model=ScheduleEntry, status_code=201, tags=["Lịch công tác"],
             responses={**NOT_FOUND},
             summary="Thêm mục lịch công tác (văn phòng, lãnh đạo)")
def add_entry(body: ScheduleEntryIn, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "save_schedule_entry", body.model_dump())


@router.put("/schedule/entries/{entry_id}", response_model=ScheduleEntry, responses=NOT_FOUND,
            tags=["Lịch công tác"], summary="Sửa mục lịch công tác")
def change_entry(body: ScheduleEntryIn, entry_id: int = Path(ge=1), v: Viewer = Depends(csrf_checked),
                 g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "save_schedule_entry", {**body.model_dump(), "id": entry_id})


@router.delete("/schedule/entries/{entry_id}", status_code=204, responses=NOT_FOUND, tags=["Lịch công tác"],
               summary="Xóa mục lịch công tác")
def delete_entry(entry_id: int = Path(ge=1), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> Response:
    g.backends.call(v.actor, "routing", "delete_schedule_entry", entry_id)
    return Response(status_code=204)


@router.post("/schedule/publish", response_model=ScheduleWeek, tags=["Lịch công tác"],
             summary="Công bố lịch công tác tuần")
def publish_week(body: Publish, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "publish_schedule", body.week, body.note)
