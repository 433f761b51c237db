"""The recipients' picker (Nơi nhận) of "Gửi văn bản", "Ban hành" and "Gửi bản sao", server side.

The pages carry no directory (a national one has tens of thousands of agencies, and clerks open these screens on
phones): the picker asks `GET /api/v1/directory/agencies` as the clerk types (static/recipient_picker.js), a search of
the gateway's copy of the directory by name without marks or by identifier (`Directory.search`), limited to a few
matches that can receive today. The agencies chosen are posted in the order chosen, which is the order of "Nơi nhận"
on the document and in the edXML package's To list: NĐ 30/2020 Phụ lục I, mục "Nơi nhận": "Nơi nhận văn bản gồm:
nơi nhận để thực hiện; nơi nhận để kiểm tra, giám sát, báo cáo, trao đổi công việc, để biết; nơi nhận để lưu văn
bản" — listed in that deliberate order, which nothing on the way may sort.

Without script, the identifiers are typed one per line (`recipient_codes`) and added after those chosen.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Security
from pydantic import BaseModel, Field

from gateway.api import COMMON_ERRORS, _clean, bearer
from gateway.app import Gateway, Viewer, gw, viewer
from gateway.recipient_groups import picker_groups
from services.common.actor import Role

LIMIT = 20
LIMIT_MAX = 50
CODES_MAX = 200   # identifiers typed by hand on one form: the API's own bound on recipients
SEARCHERS = (Role.CLERK, Role.ADMIN)   # those who send (clerk) and keep the recipient groups (admin)

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   tags=["Nhóm nơi nhận"])


class Agency(BaseModel):
    organ_id: str = Field(description="Mã định danh")
    name: str


def search(g: Gateway, v: Viewer, text: str, limit: int = LIMIT) -> list[dict[str, str]]:
    """Agencies of the directory that can receive today and match `text` (every word in the name, folded, or in the
    identifier), never the caller's own agency; at most `limit`, by level then identifier."""
    v.actor.require(*SEARCHERS)
    text = " ".join((_clean(text) or "").split())[:100]   # no control character reaches the query (NUL: PostgreSQL)
    if not text:
        return []
    directory = g.directory()
    # a few more than asked: some matches cannot receive (locked, expired, replaced by a successor)
    records = directory.search(text, limit=limit * 2 + 1)
    lookup = directory.lookup([r.organ_id for r in records])
    found = [{"organ_id": r.organ_id, "name": r.name} for r in records
             if r.organ_id != v.user.agency_id and directory.is_deliverable(r.organ_id, lookup=lookup) == (True, "")]
    return found[:limit]


@router.get("/directory/agencies", response_model=list[Agency], summary="Tìm nơi nhận trong danh bạ liên thông",
            description="Văn thư và quản trị. Cơ quan còn nhận văn bản hôm nay có tên chứa mọi từ đã gõ (không phân "
                        "biệt hoa thường, dấu; “so tai chinh” tìm được “Sở Tài chính”) hoặc mã định danh chứa từ có "
                        "chữ số; không gồm chính cơ quan mình; theo cấp rồi mã định danh.")
def directory_agencies(q: str = Query("", max_length=100, description="Tên hoặc mã định danh, một phần"),
                       limit: int = Query(LIMIT, ge=1, le=LIMIT_MAX), v: Viewer = Depends(viewer),
                       g: Gateway = Depends(gw)) -> list[dict[str, str]]:
    return search(g, v, q, limit)


def ordered(recipients: list[str], typed: str = "") -> list[str]:
    """The identifiers a form posted, in order: those chosen in the picker, then those typed one per line (or
    separated by commas, semicolons, spaces); each once, its first place kept."""
    codes = [c for c in re.split(r"[\s,;]+", typed or "") if c][:CODES_MAX]
    return list(dict.fromkeys(c for c in (*(r.strip() for r in recipients), *codes) if c))


def chosen_for_page(g: Gateway, organ_ids: list[str]) -> tuple[list[dict[str, str]], str]:
    """What a page shown again shows in the picker: the agencies found, in order, with their names; and the
    identifiers not found in the directory, back in the text field to be corrected."""
    ids = list(dict.fromkeys(o.strip() for o in organ_ids if o and o.strip()))[:CODES_MAX]
    lookup = g.directory().lookup(ids)
    found, unknown = [], []
    for organ_id in ids:
        record = lookup(organ_id)
        if record is None:
            unknown.append(organ_id)
        else:
            found.append({"organ_id": record.organ_id, "name": record.name})
    return found, "\n".join(unknown)


def picker_context(g: Gateway, v: Viewer, organ_ids: list[str] | None, group_ids: list[str] | None = None,
                   prefix: str = "") -> dict[str, Any]:
    """The template's arguments of the picker (`prefix`: the copy screen names them copy_...)."""
    chosen, typed = chosen_for_page(g, organ_ids or [])
    return {f"{prefix}chosen": chosen, f"{prefix}typed": typed, f"{prefix}groups": picker_groups(g, v),
            f"{prefix}chosen_groups": list(group_ids or [])}
