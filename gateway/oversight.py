"""Leaders acting on assigned work, from the handling page (section "Điều hành", linked from the progress page)
and from the REST API: chase (đôn đốc), change the deadline, add a directive, re-assign, take back.

Each form carries an operation id made when the page was drawn, and each REST call its Idempotency-Key: routing
does an action once per (item, operation), so a double click or a retried request changes nothing. Routing checks
who may act (leader, head of the handling unit, delegate within scope) again.
"""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, Header, Path, Query, Security
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

# The notices after each action and the history's words are in gateway/handling.py with the page's others.
from gateway.api import COMMON_ERRORS, DOC_ID, NOT_FOUND, _problem, bearer
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.handling import parse_target
from services.common.errors import CongVanError

OP = "Operation id: the same id sent again does the action once (the page's forms carry one)"


def operation_id() -> str:
    """A fresh operation id for a form drawn now."""
    return secrets.token_urlsafe(12)


def options(g: Gateway, v: Viewer, incoming_id: str) -> dict[str, bool]:
    """Which of the forms to show; an unreachable routing shows none (the page still works)."""
    try:
        return g.backends.call(v.actor, "routing", "oversight_options", incoming_id)
    except CongVanError:
        return {}


def _back(incoming_id: str, result: str) -> RedirectResponse:
    return RedirectResponse(f"/xu-ly/{urllib.parse.quote(incoming_id, safe='')}?ket-qua={result}#dieu-hanh",
                            status_code=303)


def install(app: FastAPI) -> None:
    @app.post("/xu-ly/{incoming_id}/don-doc", include_in_schema=False)
    def chase(incoming_id: str, note: str = Form(""), operation: str = Form(""),
              v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "chase", incoming_id, note, operation)
        return _back(incoming_id, "da-don-doc")

    @app.post("/xu-ly/{incoming_id}/han-xu-ly", include_in_schema=False)
    def deadline(incoming_id: str, deadline: str = Form(""), reason: str = Form(""), operation: str = Form(""),
                 v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "change_deadline", incoming_id, deadline, reason, operation)
        return _back(incoming_id, "da-doi-han")

    @app.post("/xu-ly/{incoming_id}/chi-dao", include_in_schema=False)
    def directive(incoming_id: str, text: str = Form(""), operation: str = Form(""),
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "add_directive", incoming_id, text, operation)
        return _back(incoming_id, "da-chi-dao")

    @app.post("/xu-ly/{incoming_id}/giao-xu-ly", include_in_schema=False)
    def handlers(incoming_id: str, main: str = Form(""), coordinators: list[str] = Form([]),
                 change_coordinators: str = Form(""), note: str = Form(""), operation: str = Form(""),
                 v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        chosen = [parse_target(c) for c in coordinators if c] if change_coordinators else None
        g.backends.call(v.actor, "routing", "reassign_handlers", incoming_id, operation,
                        parse_target(main) if main else None, chosen, note)
        return _back(incoming_id, "da-giao-xu-ly")

    @app.post("/xu-ly/{incoming_id}/thu-hoi", include_in_schema=False)
    def take_back(incoming_id: str, reason: str = Form(""), operation: str = Form(""),
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "take_back", incoming_id, reason, operation)
        return _back(incoming_id, "da-thu-hoi")

    app.include_router(router)


# -- REST ---------------------------------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   tags=["Điều hành"])
ACTION_ERRORS = {**NOT_FOUND, 409: _problem("Văn bản không ở trạng thái đang xử lý")}
IDEMPOTENCY = Header(..., alias="Idempotency-Key", min_length=1, max_length=80, description=OP)


class Target(BaseModel):
    user_id: str | None = Field(None, description="A person of the agency")
    unit: str | None = Field(None, description="A unit: its department heads act for it")

    @field_validator("unit")
    @classmethod
    def _unit_code(cls, unit: str | None) -> str | None:
        # People's unit codes are kept in capitals (gateway/people.py): "th" from a client is Phòng TH.
        return (unit.strip().upper() or None) if unit else unit

    def routing(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v}


class Handling(BaseModel):
    """An incoming document's handling: status, deadline, assignments and (here) its history."""

    model_config = ConfigDict(extra="allow")

    incoming_id: str
    subject: str = ""
    status: str
    status_label: str = ""
    deadline: str | None = None
    deadline_source: str | None = Field(None, description="leader | document | default | changed")
    assignments: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []


class ChaseRequest(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="What the handler is asked (đôn đốc)")


class DeadlineRequest(BaseModel):
    deadline: str = Field(description="YYYY-MM-DD (17:00 that day) or YYYY-MM-DDTHH:MM, Vietnam time; a day already "
                          "past: 422 deadline_past")
    reason: str = Field(min_length=1, max_length=2000)


class DirectiveRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class HandlersRequest(BaseModel):
    main: Target | None = Field(None, description="The new main handler; absent: unchanged")
    coordinators: list[Target] | None = Field(None, description="The coordinators from now on; absent: unchanged")
    note: str = Field("", max_length=2000)


class TakeBackRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


ItemId = Path(pattern=DOC_ID, description="The incoming document's id (as in /incoming/{id})")


@router.get("/handling/{incoming_id}", response_model=Handling, responses=NOT_FOUND,
            summary="Xử lý văn bản đến: trạng thái, phân công, lịch sử")
def handling(incoming_id: str = ItemId, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "get_incoming", incoming_id)


@router.post("/handling/{incoming_id}/chase", response_model=Handling, responses=ACTION_ERRORS,
             summary="Đôn đốc người xử lý")
def api_chase(body: ChaseRequest, incoming_id: str = ItemId, key: str = IDEMPOTENCY,
              v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "chase", incoming_id, body.note, key)


@router.post("/handling/{incoming_id}/deadline", response_model=Handling, responses=ACTION_ERRORS,
             summary="Gia hạn hoặc rút ngắn hạn xử lý (có lý do)")
def api_deadline(body: DeadlineRequest, incoming_id: str = ItemId, key: str = IDEMPOTENCY,
                 v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "change_deadline", incoming_id, body.deadline, body.reason, key)


@router.post("/handling/{incoming_id}/directive", response_model=Handling, responses=ACTION_ERRORS,
             summary="Chỉ đạo thêm")
def api_directive(body: DirectiveRequest, incoming_id: str = ItemId, key: str = IDEMPOTENCY,
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "add_directive", incoming_id, body.text, key)


@router.post("/handling/{incoming_id}/handlers", response_model=Handling, responses=ACTION_ERRORS,
             summary="Giao lại người xử lý chính, người phối hợp")
def api_handlers(body: HandlersRequest, incoming_id: str = ItemId, key: str = IDEMPOTENCY,
                 v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    coordinators = [c.routing() for c in body.coordinators] if body.coordinators is not None else None
    return g.backends.call(v.actor, "routing", "reassign_handlers", incoming_id, key,
                           body.main.routing() if body.main else None, coordinators, body.note)


@router.post("/handling/{incoming_id}/take-back", response_model=Handling, responses=ACTION_ERRORS,
             summary="Thu hồi văn bản đã giao")
def api_take_back(body: TakeBackRequest, incoming_id: str = ItemId, key: str = IDEMPOTENCY,
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "take_back", incoming_id, body.reason, key)


@router.get("/progress", summary="Tiến độ xử lý của các đơn vị",
            description="Leaders and their delegates with the `supervise` scope: every unit; department heads: "
                        "their own and the units under it. Per unit (`parent`, `depth`: its place in the tree): "
                        "counts, overdue, due soon and open items, a unit's row counting those of the units under it.")
def progress(unit: str | None = Query(None, max_length=40), v: Viewer = Depends(viewer),
             g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return g.backends.call(v.actor, "routing", "unit_progress", unit)


class ReviewChains(BaseModel):
    review_chain: list[dict[str, Any]] = Field(description="The agency's chain (docs/routing.md: key, label, roles, "
                                                           "unit or same_unit; the last step signs)")
    review_chains: dict[str, list[dict[str, Any]]] = Field(
        {}, description="A chain per document type code, e.g. {\"QD\": [...]}; other types follow review_chain")


@router.get("/review-chains", response_model=ReviewChains, summary="Quy trình trình duyệt dự thảo (theo loại văn bản)")
def review_chains(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    config = g.backends.call(v.actor, "routing", "get_config")
    return {"review_chain": config.get("review_chain") or [], "review_chains": config.get("review_chains") or {}}


@router.put("/review-chains", response_model=ReviewChains, summary="Đặt quy trình trình duyệt (quản trị)",
            description="Administrator. Every chain is checked before it is saved; an empty `review_chains` leaves "
                        "every type on the agency's chain.")
def set_review_chains(body: ReviewChains, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict:
    v.actor.require("admin")
    config = g.backends.call(v.actor, "routing", "configure", review_chain=body.review_chain,
                             review_chains=body.review_chains or None)
    return {"review_chain": config.get("review_chain") or [], "review_chains": config.get("review_chains") or {}}


class DeputyRequest(BaseModel):
    user_id: str | None = Field(None, max_length=64, description="A leader; null clears it")


@router.post("/drafts/{draft_id}/deputy", responses=NOT_FOUND, tags=["Dự thảo và công việc"],
             summary="Chọn phó phụ trách (ký tắt trước khi lãnh đạo ký)",
             description="The drafter, while drafting or returned; taken into the chain at the next submission "
                         "(Tuyên Quang Đ12.1c).")
def api_deputy(body: DeputyRequest, draft_id: int = Path(ge=1, lt=2**31), v: Viewer = Depends(csrf_checked),
               g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "name_deputy", draft_id, body.user_id or None)
