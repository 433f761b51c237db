"""Late entry after an outage, over the REST API (the screens carry the same "Thời điểm thực tế" field).

TP.HCM Đ3.4: "Trong trường hợp xảy ra sự cố kỹ thuật dẫn tới chương trình phần mềm QLVB & HSCV ngưng hoạt động,
người có trách nhiệm cập nhật thông tin ... tạm thời ghi nhận việc xử lý bằng các phương tiện kỹ thuật khác và tiếp
tục cập nhật các thông tin đã xử lý ngay sau khi sự cố kỹ thuật đã được khắc phục." (Hưng Yên Đ4.2 alike.)

A registration entered this way keeps the real time it happened (Vietnam time, not in the future, not before the
document arrived), is marked "nhập muộn" in the history and the registers, and keeps who entered it and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Security
from pydantic import BaseModel, Field

from gateway.api import COMMON_ERRORS, DOC_ID, NOT_FOUND, DocumentDetail, _document, _problem, bearer
from gateway.app import Gateway, Viewer, csrf_checked, gw

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])
IDEMPOTENCY = Header(None, alias="Idempotency-Key", max_length=64,
                     description="The same registration sent again returns the document as registered")


class LateRegistration(BaseModel):
    happened_at: datetime = Field(description="When the document was really registered (on paper during the "
                                  "outage); without a zone, Vietnam time")
    register_id: str | None = Field(None, description="An incoming register of this year; default: the first open")


@router.post("/incoming/{doc_id}/late-registration", response_model=DocumentDetail, tags=["Văn bản đến"],
             responses={**NOT_FOUND, 409: _problem("Văn bản đã được vào sổ trước đó, với thời điểm khác")},
             summary="Vào sổ văn bản đến nhập muộn sau sự cố (thời điểm thực tế)")
def late_registration(body: LateRegistration, doc_id: str = Path(pattern=DOC_ID), key: str | None = IDEMPOTENCY,
                      v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    from gateway.registers import default_register

    v.actor.require("clerk")
    current = _document(g, v, doc_id, "incoming")
    if current.get("state") == "registered" and current.get("late_entry") and key:
        return current  # sent again (document + step): registered once
    register_id = body.register_id or default_register(g, v, "incoming")
    g.backends.call(v.actor, "registry", "accept_incoming", doc_id, register_id, body.happened_at.isoformat())
    return _document(g, v, doc_id, "incoming")


def install(app: FastAPI) -> None:
    app.include_router(router)
