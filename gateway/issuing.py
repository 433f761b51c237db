"""What the clerk chooses at issue beyond the register (issue 18 item 7): each recipient's channel (điện tử, bản
giấy, nội bộ; only electronic ones leave over the interconnect), the number of copies (số lượng bản, column 7 of
the outgoing register) and whether the document is legal-normative (its number carries the year, from its type's
own register). Shared by the issue page (gateway/documents.py) and POST /api/v1/outgoing/{id}/issue; the printed
list of recipients (Nơi nhận) is here too.

Internal recipients may be sent "together with their subordinate units" (`with_subunits`): each chosen unit is then
followed by the active units of its subtree, and each of them is recorded as an internal recipient of its own, so
that routing delivers to every one (notification, the unit's list, recall and update notices) as to a unit chosen
by hand, with no second mechanism. One choice for the whole issue, not one per unit: the clerk who wants the units
under only one of the chosen units picks those units herself in the same list. Off by default: how a document
circulates inside the agency is the head's rule ("Việc luân chuyển, xử lý văn bản điện tử ... trong nội bộ cơ quan,
đơn vị do Thủ trưởng cơ quan, đơn vị quyết định", Tuyên Quang QĐ 51/2024 Điều 10), so the clerk says it each time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from gateway.app import Gateway, Viewer, gw, render, viewer
from gateway.auth import refuse_retired
from gateway.models import Unit
from gateway.recipient_groups import skipped_text
from services.common.errors import NotFound, ValidationFailed
from services.registry.domain import LEGAL_NORMATIVE_TYPES, RECIPIENT_CHANNELS, internal_id
from services.routing.domain import UnitTree

PAPER_MAX = 50


def recipients_by_channel(g: Gateway, v: Viewer, electronic: list[str], paper: list[str] | str | None = None,
                          internal: list[str] | None = None, replacing: bool = False,
                          skipped: list[dict[str, str]] | None = None,
                          with_subunits: bool = False) -> list[dict[str, str]]:
    """The recipients for the registry: agencies of the directory reached over the interconnect, paper recipients
    by name (anyone: a company, a citizen, an agency without the interconnect), the agency's own units (given
    `with_subunits`, with the active units under each). A replacing document may have none of its own: it goes to
    the replaced document's recipients (the registry adds them)."""
    chosen = []
    for organ_id in [o for o in electronic if o]:
        record = g.directory().get(organ_id)
        if record is None:
            raise ValidationFailed(f"Không có cơ quan mã {organ_id} trong danh bạ.", field="recipients")
        chosen.append({"organ_id": record.organ_id, "organ_name": record.name, "channel": "interconnect"})
    lines = paper.splitlines() if isinstance(paper, str) else list(paper or [])
    names = [" ".join(line.split()) for line in lines if line.strip()]
    if len(names) > PAPER_MAX:
        raise ValidationFailed(f"Tối đa {PAPER_MAX} nơi nhận bản giấy.", field="paper_recipients")
    for index, name in enumerate(names, start=1):
        if len(name) > 200:
            raise ValidationFailed("Tên nơi nhận bản giấy dài quá 200 ký tự.", field="paper_recipients")
        chosen.append({"organ_id": f"giay-{index:02d}", "organ_name": name, "channel": "paper"})
    chosen += internal_recipients(g.accounts.list_units(v.user.agency_id), internal or [], with_subunits)
    if not chosen and not replacing:
        # every member of the chosen groups has left the directory: say so, not only that nothing was chosen
        raise ValidationFailed(" ".join(x for x in ("Thiếu trường bắt buộc “Nơi nhận”.", skipped_text(skipped or []))
                                        if x), field="recipients")
    return chosen


def internal_recipients(units: Sequence[Unit], chosen: Iterable[str], with_subunits: bool = False
                        ) -> list[dict[str, str]]:
    """The internal recipients of an issue: the chosen units of the agency (`units` are its own: another agency's
    code is unknown here), each followed, `with_subunits`, by the active units of every level under it, in the
    tree's order. A unit reached twice (chosen by hand and under another chosen unit) is listed once, where first
    reached."""
    by_code = {u.code: u for u in units}
    tree, ordered = UnitTree.of((u.code, u.parent_code) for u in units), in_tree_order(units)
    reached: list[str] = []
    for code in [c for c in chosen if c]:
        if code not in by_code:
            raise ValidationFailed(f"Không có đơn vị mã {code} trong cơ quan.", field="internal_units")
        refuse_retired(by_code[code], "internal_units")  # kept for history, sent nothing new
        reached.append(code)
        if with_subunits:  # an inactive unit receives nothing; active units under it still do (they are below)
            reached += [u.code for u in ordered if u.code != code and u.active
                        and tree.within(u.code, code)]
    return [{"organ_id": internal_id(code), "organ_name": unit_label(by_code[code], by_code), "channel": "internal"}
            for code in dict.fromkeys(reached)]


def in_tree_order(units: Sequence[Unit]) -> list[Unit]:
    """The units, each followed by those under it (UnitTree.ordered), as the units' screen lists them."""
    by_upper = {u.code.upper(): u for u in units}
    return [by_upper[code] for code, _depth in UnitTree.of((u.code, u.parent_code) for u in units).ordered()
            if code in by_upper]


def unit_label(unit: Unit, by_code: dict[str, Unit]) -> str:
    """A unit's name, with the unit it sits in when it is not directly under the agency ("Tổ Lưu trữ (thuộc Chi
    cục Văn thư)"): the document's recipients then say why a unit nobody picked received it."""
    parent = by_code.get(unit.parent_code or "")
    return (f"{unit.name} (thuộc {parent.name})" if parent else unit.name)[:200]


def copies(value: str | int | None) -> int | None:
    """"Số lượng bản phát hành" as typed: empty is unknown (never a made-up 1)."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 999:
        raise ValidationFailed("“Số lượng bản phát hành” phải là số từ 1 đến 999.", field="issued_amount")
    return int(text)


def issue_choices(g: Gateway, v: Viewer, doc: dict[str, Any]) -> dict[str, Any]:
    """What the issue page offers besides the directory: the agency's working units in the tree's order (a retired
    one is not offered), whether any unit
    has units under it (then "Gửi cả các đơn vị trực thuộc" is offered), and whether the type can be
    legal-normative."""
    units = g.accounts.list_units(v.user.agency_id)
    by_code = {u.code: u for u in units}
    return {"units": [{"code": u.code, "name": unit_label(u, by_code)} for u in in_tree_order(units) if u.active],
            "units_nested": any(u.parent_code in by_code for u in units if u.active),
            "legal_possible": doc.get("type_code") in LEGAL_NORMATIVE_TYPES}


def install(app: FastAPI) -> None:
    @app.get("/van-ban/{doc_id}/noi-nhan", response_class=HTMLResponse, include_in_schema=False)
    def recipients_list(request: Request, doc_id: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        """The list of recipients to print (Nơi nhận), paper and internal ones included, with the copies; a copy's
        too (sao y, sao lục, trích sao: its sealed files carry no "Nơi nhận", so the clerk prints this one to go with
        the paper copies)."""
        doc = g.backends.call(v.actor, "registry", "get_document", doc_id)
        if doc.get("direction") not in ("outgoing", "copies") or not doc.get("recipients"):
            raise NotFound("Văn bản chưa có danh sách nơi nhận.", doc_id=doc_id)
        for r in doc["recipients"]:
            r["channel_label"] = RECIPIENT_CHANNELS.get(r.get("channel") or "", r.get("channel") or "")
        return render(request, "recipients_print.html", v, doc=doc)
