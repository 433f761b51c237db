"""What the clerk chooses at issue beyond the register (issue 18 item 7): each recipient's channel (điện tử, bản
giấy, nội bộ; only electronic ones leave over the interconnect), the number of copies (số lượng bản, column 7 of
the outgoing register) and whether the document is legal-normative (its number carries the year, from its type's
own register). Shared by the issue page (gateway/documents.py) and POST /api/v1/outgoing/{id}/issue; the printed
list of recipients (Nơi nhận) is here too."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from gateway.app import Gateway, Viewer, gw, render, viewer
from gateway.recipient_groups import skipped_text
from services.common.errors import NotFound, ValidationFailed
from services.registry.domain import LEGAL_NORMATIVE_TYPES, RECIPIENT_CHANNELS, internal_id

PAPER_MAX = 50


def recipients_by_channel(g: Gateway, v: Viewer, electronic: list[str], paper: list[str] | str | None = None,
                          internal: list[str] | None = None, replacing: bool = False,
                          skipped: list[dict[str, str]] | None = None) -> list[dict[str, str]]:
    """The recipients for the registry: agencies of the directory reached over the interconnect, paper recipients
    by name (anyone: a company, a citizen, an agency without the interconnect), the agency's own units. A replacing
    document may have none of its own: it goes to the replaced document's recipients (the registry adds them)."""
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
    units = {u.code: u.name for u in g.accounts.list_units(v.user.agency_id)}
    for code in [c for c in internal or [] if c]:
        if code not in units:
            raise ValidationFailed(f"Không có đơn vị mã {code} trong cơ quan.", field="internal_units")
        chosen.append({"organ_id": internal_id(code), "organ_name": units[code], "channel": "internal"})
    if not chosen and not replacing:
        # every member of the chosen groups has left the directory: say so, not only that nothing was chosen
        raise ValidationFailed(" ".join(x for x in ("Thiếu trường bắt buộc “Nơi nhận”.", skipped_text(skipped or []))
                                        if x), field="recipients")
    return chosen


def copies(value: str | int | None) -> int | None:
    """"Số lượng bản phát hành" as typed: empty is unknown (never a made-up 1)."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 999:
        raise ValidationFailed("“Số lượng bản phát hành” phải là số từ 1 đến 999.", field="issued_amount")
    return int(text)


def issue_choices(g: Gateway, v: Viewer, doc: dict[str, Any]) -> dict[str, Any]:
    """What the issue page offers besides the directory: the agency's units and whether the type can be
    legal-normative."""
    return {"units": [{"code": u.code, "name": u.name} for u in g.accounts.list_units(v.user.agency_id)],
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
