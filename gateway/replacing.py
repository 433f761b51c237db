"""Thay thế văn bản (issue 18 item 6), the sender's screens. A replacing document is a new one: drafted, signed,
then issued by the clerk, who ticks "Văn bản này thay thế văn bản đã ban hành" on the issue page and picks one of
the agency's issued outgoing documents (services/registry/replacement.py sends it as a type-3 package to the
replaced document's recipients too). From an issued document's page, "Thay thế văn bản" opens the issue page of a
document waiting to issue with this one already chosen. Both histories then name the other document, with a link."""

from __future__ import annotations

import urllib.parse
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse

from gateway.app import Gateway, Viewer, gw, viewer
from services.common.errors import CongVanError, ValidationFailed

CANDIDATES_MAX = 200  # the registry's largest page: the newest issued documents, the ones replaced in practice


def _day(value: str | None) -> str:
    """yyyy-mm-dd as dd/mm/yyyy (an issue date is already the Vietnam calendar day)."""
    text = str(value or "")[:10]
    return f"{text[8:10]}/{text[5:7]}/{text[:4]}" if len(text) == 10 else ""


def label(doc: dict[str, Any]) -> str:
    number = doc.get("number_and_notation") or "chưa cấp số"
    day = _day(doc.get("issued_date"))
    return f"Số {number}{f' ngày {day}' if day else ''} – {doc.get('subject') or ''}"[:300]


def replace_choices(g: Gateway, v: Viewer, doc_id: str, chosen: str | None) -> dict[str, Any]:
    """The issue page's choice: the agency's issued outgoing documents not yet replaced (the registry checks the
    chosen one again at issue and says why it refuses)."""
    try:
        items = g.backends.call(v.actor, "registry", "list_outgoing", {"state": "issued"}, 1,
                                CANDIDATES_MAX).get("items") or []
    except CongVanError:
        items = []
    candidates = [{"id": d["id"], "label": label(d)} for d in items if not d.get("replaced_by") and d["id"] != doc_id]
    if chosen and chosen not in {c["id"] for c in candidates}:
        try:  # an older one, named from its own page
            candidates.insert(0, {"id": chosen, "label": label(g.backends.call(v.actor, "registry", "get_document",
                                                                               chosen))})
        except CongVanError:
            chosen = None
    return {"replace_candidates": candidates, "replace_chosen": chosen or ""}


def replace_context(g: Gateway, v: Viewer, doc: dict[str, Any]) -> dict[str, Any]:
    """What document_changes.html needs for "Thay thế văn bản": the documents waiting to issue that may replace
    this one (only for the clerk, on an issued outgoing document not yet replaced)."""
    if doc.get("direction") != "outgoing" or doc.get("state") != "issued" or doc.get("replaced_by") \
            or not v.has("clerk"):
        return {"replacing_candidates": None}
    try:
        items = g.backends.call(v.actor, "registry", "list_waiting_issue", 1, CANDIDATES_MAX).get("items") or []
    except CongVanError:
        items = []
    return {"replacing_candidates": [{"id": d["id"], "label": f"{d.get('code_notation') or ''} – "
                                      f"{d.get('subject') or ''}"[:300]} for d in items]}


def history_links(h: dict[str, Any]) -> None:
    """A replacement step links to the other document: the replaced one's "Đã được thay thế bởi văn bản số …",
    the replacing one's "Ban hành, thay thế văn bản số …"."""
    details = h.get("details") or {}
    if h.get("action") == "replaced" and details.get("by"):
        if details.get("number"):  # ours, replaced by a document we issued
            h["action_label"] = "Đã được thay thế bởi văn bản"
            h["link"] = {"href": f"/van-ban/{details['by']}", "text": details["number"]}
        else:  # received, replaced by a document the sender sent afterwards
            h["link"] = {"href": f"/van-ban/{details['by']}", "text": "bằng văn bản mới nhận"}
    elif h.get("action") == "issued" and details.get("replaces"):
        h["link"] = {"href": f"/van-ban/{details['replaces']}",
                     "text": f"thay thế văn bản {details.get('replaces_number') or ''}".strip()}


def chosen_replacement(replace: bool, replaces: str | None) -> str | None:
    """The issue form's answer: None unless the clerk ticked the box, and then a document must be chosen."""
    if not replace:
        return None
    if not (replaces or "").strip():
        raise ValidationFailed("Chưa chọn văn bản đã ban hành cần thay thế.", field="replaces")
    return replaces.strip()[:64]


def install(app: FastAPI) -> None:
    @app.get("/van-ban-di/{doc_id}/thay-the", include_in_schema=False)
    def replace(doc_id: str, moi: str = "", v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        """From the replaced document's page to the issue page of the document chosen to replace it."""
        v.actor.require("clerk")
        for either in (doc_id, moi.strip()):
            if either:  # another agency's document is 404 here, like everywhere
                g.backends.call(v.actor, "registry", "get_document", either)
        if not moi.strip():
            raise ValidationFailed("Chưa chọn văn bản chờ ban hành sẽ thay thế văn bản này.", field="moi")
        new, old = (urllib.parse.quote(x.strip()[:64], safe="") for x in (moi, doc_id))
        return RedirectResponse(f"/van-ban-di/{new}/ban-hanh?thay-the={old}#thay-the", status_code=303)
