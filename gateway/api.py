"""REST API /api/v1: token (or session) authentication, the same rules as the pages, problem+json errors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer

router = APIRouter(prefix="/api/v1", tags=["v1"])


class Me(BaseModel):
    user_id: str
    username: str
    full_name: str
    agency_id: str
    agency_name: str
    unit: str | None
    roles: list[str]


class TokenRequest(BaseModel):
    label: str


class TokenIssued(BaseModel):
    token: str
    label: str


@router.get("/me", response_model=Me, summary="Người dùng hiện tại")
def me(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    u = v.user
    return {"user_id": u.id, "username": u.username, "full_name": u.full_name, "agency_id": u.agency_id,
            "agency_name": g.backends.name_of(u.agency_id), "unit": u.unit, "roles": list(u.roles)}


@router.post("/tokens", response_model=TokenIssued, status_code=201, summary="Cấp mã truy cập cho hệ thống khác")
def issue_token(body: TokenRequest, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, str]:
    return {"token": g.accounts.issue_api_token(v.user.id, body.label[:100]), "label": body.label[:100]}


def install(app: FastAPI) -> None:
    app.include_router(router)
