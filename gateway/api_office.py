"""REST API of issue 19's office features: the dossiers that hold a document (Đà Nẵng Đ5.4b item 5) and the
leadership's work schedule (Bình Định Đ3.1, gateway/schedule.py). Same services and rules as the screens; errors
are problem+json (gateway/api.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Security
from pydantic import BaseModel, Field

from gateway.api import COMMON_ERRORS, DOC_ID, NOT_FOUND, bearer
from gateway.app import Gateway, Viewer, gw, viewer

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
