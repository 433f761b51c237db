"""Pure rules of one hub's report (no I/O): what the hub serves at GET /report (services/interconnect/hub_report.py)
and the gateway shows and prints to the hub's operator (gateway/hub_reports.py, gateway/monitoring.py), counted from
the hub's relay-log rows."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from services.reporting.domain import parse_instant

HUB_FIGURES_VI = {
    "sent": "Gửi đi (cơ quan của trục gửi)", "received": "Nhận vào trục", "delivered": "Đã chuyển vào hộp thư",
    "routed": "Chuyển tiếp sang trục khác", "rejected": "Bị từ chối",
}


def message_kind(entry: dict[str, Any]) -> str | None:
    """`edoc` or `status` when a row says which: the hub's `validated` row (detail = kind) of a package from its own
    agency, or the `received` row of a package from a neighbour hub (detail `from <user>; kind=<kind>`)."""
    detail = entry.get("detail") or ""
    if entry.get("event") == "validated":
        return detail or "edoc"
    if entry.get("event") == "received" and "kind=" in detail:
        return detail.rsplit("kind=", 1)[1].split(";", 1)[0].strip() or None
    return None


def hub_report(code: str, name: str, entries: list[dict[str, Any]], served: dict[str, str],
               reason_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """One hub's figures from its own relay log, counted once per package (a window relayed again after a crash
    writes its rows twice), and the usage of each agency it serves (zeros included).

    - sent: packages (documents and status reports) accepted from the hub's own agencies (`validated`);
    - received: packages that entered the hub's relay, from its agencies or from neighbour hubs (`received`);
    - delivered: recipients put into its agencies' inboxes; routed: copies forwarded to another hub;
    - rejected: refusals by reason (the code before ":" in the row's detail);
    - median delivery time: from the package's first `received` row at THIS hub to its `delivered` row, so it is
      end to end inside the province and from arrival at this hub for packages from elsewhere.
    Per served agency: documents sent, documents delivered to it, its packages refused.
    """
    labels = reason_labels or {}
    kind: dict[str, str] = {}
    first_seen: dict[str, datetime] = {}
    for e in entries:
        mid = e.get("message_id") or ""
        if found := message_kind(e):
            kind.setdefault(mid, found)
        at = parse_instant(e.get("at"))
        if e.get("event") == "received" and at and (mid not in first_seen or at < first_seen[mid]):
            first_seen[mid] = at
    seen: set[tuple] = set()
    figures = {k: 0 for k in HUB_FIGURES_VI}
    reasons: Counter[str] = Counter()
    delays: list[float] = []
    usage = {organ: {"sent": 0, "received": 0, "rejected": 0} for organ in served}
    for e in entries:
        event, mid = e.get("event"), e.get("message_id") or ""
        organs = [o for o in (e.get("recipients") or "").split(",") if o]
        is_doc = kind.get(mid, "edoc") == "edoc"
        if event in ("received", "validated"):
            if (event, mid) in seen:
                continue
            seen.add((event, mid))
            figures["sent" if event == "validated" else "received"] += 1
            if event == "validated" and is_doc and e.get("sender") in usage:
                usage[e["sender"]]["sent"] += 1
        elif event in ("delivered", "routed"):
            for organ in organs:
                if (event, mid, organ) in seen:
                    continue
                seen.add((event, mid, organ))
                figures[event] += 1
                if event == "routed":
                    continue
                if is_doc and organ in usage:
                    usage[organ]["received"] += 1
                at, start = parse_instant(e.get("at")), first_seen.get(mid)
                if at and start:
                    delays.append((at - start).total_seconds())
        elif event == "rejected":
            reason = (e.get("detail") or "").split(":", 1)[0] or "UNKNOWN"
            if ("rejected", mid, reason, tuple(organs)) in seen:
                continue
            seen.add(("rejected", mid, reason, tuple(organs)))
            reasons[reason] += 1
            figures["rejected"] += 1
            if e.get("sender") in usage:
                usage[e["sender"]]["rejected"] += 1
    return {
        "hub": code, "name": name, **figures,
        "rejected_by_reason": [{"reason": r, "label": labels.get(r, r), "count": n}
                               for r, n in sorted(reasons.items(), key=lambda i: (-i[1], i[0]))],
        "median_delivery_seconds": round(statistics.median(delays), 3) if delays else None,
        "deliveries_measured": len(delays),
        "agencies": [{"organ_id": o, "name": served[o], **usage[o]} for o in sorted(served)],
    }


def hubs_visible(operator_agency: str, hubs: dict[str, dict[str, Any]]) -> list[str]:
    """The hubs an operator sees: the hub serving the operator's agency; the national hub's operator (a hub
    without a parent) sees every hub. `hubs`: code -> {parent, agencies: [organ ids], ...} (gateway settings)."""
    own = [code for code, h in hubs.items() if operator_agency in (h.get("agencies") or [])]
    if not own:
        return []
    if any(not hubs[code].get("parent") for code in own):
        return sorted(hubs, key=lambda c: (bool(hubs[c].get("parent")), c))
    return sorted(own)


def duration_text(seconds: float | None) -> str:
    """A median delivery time as people read it: "0,8 giây", "2 phút 5 giây", "1 giờ 3 phút"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} giây".replace(".", ",")
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} phút {secs} giây"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} giờ {minutes} phút"


HUB_REPORT_TITLE = "BÁO CÁO HOẠT ĐỘNG TRỤC LIÊN THÔNG VĂN BẢN"


def hub_report_sections(reports: list[dict[str, Any]]) -> list[tuple[str, list[str], list[list[Any]], list[float]]]:
    """(section name, headers, rows, widths) of the hubs' report: the hubs, refusals by reason, usage per agency."""
    figure_keys = list(HUB_FIGURES_VI)
    hubs = ("Số liệu theo trục", ["Trục liên thông", *HUB_FIGURES_VI.values(), "Thời gian chuyển trung vị"],
            [[r["name"] or r["hub"], *(r[k] for k in figure_keys), duration_text(r["median_delivery_seconds"])]
             for r in reports], [40, 16, 14, 16, 16, 12, 18])
    reasons = ("Từ chối theo lý do", ["Trục liên thông", "Mã lý do", "Lý do", "Số lượt"],
               [[r["name"] or r["hub"], x["reason"], x["label"], x["count"]] for r in reports
                for x in r["rejected_by_reason"]], [36, 26, 60, 12])
    usage = ("Sử dụng theo cơ quan", ["Trục liên thông", "Mã định danh", "Cơ quan", "Văn bản gửi",
                                      "Văn bản nhận", "Gói tin bị từ chối"],
             [[r["name"] or r["hub"], a["organ_id"], a["name"], a["sent"], a["received"], a["rejected"]]
              for r in reports for a in r["agencies"]], [30, 20, 50, 14, 14, 16])
    return [hubs, reasons, usage]
