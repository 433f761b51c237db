"""REST API of the recipient groups (nhóm nơi nhận, gateway/recipient_groups.py): the administrator keeps them, the
clerk reads them to send (`recipient_groups` of POST /outgoing and POST /outgoing/{id}/issue). Another agency's
group is 404, like a missing one; the same functions as the screens /quan-tri/nhom-noi-nhan."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, Security
from pydantic import BaseModel, Field, StringConstraints

from gateway import recipient_groups as rg
from gateway.admin import admin_post
from gateway.api import COMMON_ERRORS, NOT_FOUND, _problem, bearer
from gateway.app import Gateway, Viewer, gw, viewer
from gateway.idempotency import KEY, once

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   tags=["Nhóm nơi nhận"])
GroupId = Path(pattern=r"^[0-9a-f]{16}$", description="Mã nhóm nơi nhận (GET /recipient-groups)")
OrganId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z.]{1,35}$")]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND, 409: _problem("Cơ quan đã có nhóm cùng tên (code `group_name_taken`)"),
    422: _problem("Tên trống, cơ quan không có trong danh bạ hoặc không còn nhận văn bản, chính cơ quan mình"),
}


class GroupMember(BaseModel):
    organ_id: str = Field(description="Mã định danh (directory)")
    name: str
    available: bool = Field(description="Còn nhận văn bản trên trục liên thông; false: đã rời danh bạ, bị khóa hoặc "
                                        "hết hiệu lực không có cơ quan kế thừa (bỏ qua khi gửi, có cảnh báo)")
    note: str = Field("", description="Why it cannot receive, or that it was replaced by its successor")
    send_to: str | None = Field(None, description="The organ id a package goes to: itself or its successor")


class RecipientGroupOut(BaseModel):
    id: str
    name: str
    members: list[GroupMember]
    member_count: int
    unavailable_count: int = Field(description="Members that can no longer receive")
    updated_at: str = Field(description="Giờ Việt Nam")


class RecipientGroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$", description="Tên nhóm, duy nhất trong "
                      "cơ quan (không phân biệt hoa thường, dấu)")
    members: list[OrganId] = Field([], max_length=rg.MEMBERS_MAX, description="Mã định danh các cơ quan, theo thứ "
                                   "tự; một cơ quan thêm mới phải còn nhận văn bản; chính cơ quan mình bị từ chối")


class MembersChange(BaseModel):
    add: list[OrganId] = Field([], max_length=rg.MEMBERS_MAX, description="Mã định danh các cơ quan thêm vào cuối "
                               "nhóm (một cơ quan đã có thì giữ nguyên); phải còn nhận văn bản")
    remove: list[OrganId] = Field([], max_length=rg.MEMBERS_MAX, description="Mã định danh các cơ quan bỏ khỏi nhóm")


# The JSON bodies that send (an outgoing document's issue, a copy's send) take groups beside `recipients`.
GROUPS_TO_SEND = ("Recipient groups (GET /api/v1/recipient-groups): their members are added to `recipients`, each "
                  "agency once, never the agency itself; a member that can no longer receive is skipped and named "
                  "in `skipped_recipients`; another agency's group is 404")


class SkippedRecipient(BaseModel):
    organ_id: str
    name: str
    group: str = Field("", description="The group it came from")
    reason: str = ""


@router.get("/recipient-groups", response_model=list[RecipientGroupOut], summary="Nhóm nơi nhận của cơ quan",
            description="Quản trị và văn thư.")
def group_list(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return rg.listed(g, v)


@router.post("/recipient-groups", response_model=RecipientGroupOut, status_code=201, responses=WRITE_ERRORS,
             summary="Tạo nhóm nơi nhận", description="Quản trị.")
def group_create(body: RecipientGroupIn, response: Response, key: str | None = KEY, v: Viewer = Depends(admin_post),
                 g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, "recipient_group_create", body,
                lambda: rg.describe(g, rg.create(g, v, body.name, list(body.members))))


@router.get("/recipient-groups/{group_id}", response_model=RecipientGroupOut, responses=NOT_FOUND,
            summary="Một nhóm nơi nhận", description="Quản trị và văn thư.")
def group_detail(group_id: str = GroupId, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return rg.describe(g, rg.group_of(g, v, group_id))


@router.put("/recipient-groups/{group_id}", response_model=RecipientGroupOut, responses=WRITE_ERRORS,
            summary="Đổi tên và danh sách nơi nhận của nhóm",
            description="Quản trị. `members` thay cả danh sách (thêm, bỏ từng nơi: POST …/members); một nơi đã "
                        "có trong nhóm được giữ lại dù đã rời danh bạ.")
def group_update(body: RecipientGroupIn, response: Response, group_id: str = GroupId, key: str | None = KEY,
                 v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"recipient_group_update:{group_id}", body,
                lambda: rg.describe(g, rg.update(g, v, group_id, body.name, list(body.members))))


@router.post("/recipient-groups/{group_id}/members", response_model=RecipientGroupOut, responses=WRITE_ERRORS,
             summary="Thêm, bỏ nơi nhận của nhóm",
             description="Quản trị. Thêm và bỏ trên danh sách hiện có của nhóm (đọc lúc ghi): hai quản trị viên "
                         "cùng thêm một lúc thì cả hai nơi nhận đều vào nhóm.")
def group_members(body: MembersChange, response: Response, group_id: str = GroupId, key: str | None = KEY,
                  v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"recipient_group_members:{group_id}", body,
                lambda: rg.describe(g, rg.update(g, v, group_id, add=list(body.add), remove=list(body.remove))))


@router.delete("/recipient-groups/{group_id}", status_code=204, responses=NOT_FOUND, summary="Xóa nhóm nơi nhận",
               description="Quản trị. Văn bản đã gửi không đổi.")
def group_delete(group_id: str = GroupId, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> Response:
    rg.delete(g, v, group_id)
    return Response(status_code=204)
