"""Pure rules of the reports (synthetic facts: times here are chosen so the working-hours arithmetic is known),
and the relay-log adapter over a real hub relay log on SQLite."""

from __future__ import annotations

import json
from datetime import date, datetime

from services.common.clock import VN_TZ
from services.common.db import Database
from services.common.settings import CommonSettings
from services.common.workcalendar import WorkCalendar
from services.interconnect.hub_report import relay_entries
from services.interconnect.models import HubBase
from services.interconnect.relaylog import RelayLog
from services.reporting import domain

CAL = WorkCalendar()  # 07:30–11:30, 13:30–17:00, Vietnamese holidays


def vn(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ).isoformat()


def handling(iid: str, registered: str, events: list[tuple[str, str, str, str | None]], main: list[tuple],
             status: str = "assigned", deadline: str | None = None) -> dict:
    return {"incoming_id": iid, "subject": f"Văn bản {iid}", "status": status, "registered_at": vn(registered),
            "deadline": vn(deadline) if deadline else None, "done_at": None,
            "events": [{"action": a, "user_id": u, "at": vn(at), "to": to, "on_behalf_of": None}
                       for a, u, at, to in events],
            "main": [{"user_id": u, "unit": None, "active": active, "at": vn(at)} for u, at, active in main]}


STAFF = {"thu": {"full_name": "Vũ Thị Thu", "unit": "VP"}, "hung": {"full_name": "Lê Văn Hùng", "unit": None},
         "anh": {"full_name": "Nguyễn Thị Ánh", "unit": "KT"}}


def test_working_days_late_counts_working_time_only():
    deadline = datetime(2026, 11, 20, 17, 0, tzinfo=VN_TZ)                  # Friday closing time
    assert domain.working_days_late(CAL, deadline, datetime(2026, 11, 22, 12, 0, tzinfo=VN_TZ)) == 0  # Sunday
    assert domain.working_days_late(CAL, deadline, datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ)) == 1
    # Monday 23 and Wednesday 25: Tuesday 24/11 is a day off (Ngày Văn hóa Việt Nam, in the holidays library).
    assert domain.working_days_late(CAL, deadline, datetime(2026, 11, 25, 17, 0, tzinfo=VN_TZ)) == 2
    assert domain.working_days_late(CAL, deadline, datetime(2026, 11, 26, 17, 0, tzinfo=VN_TZ)) == 3


def test_late_forwarders_are_who_held_a_document_beyond_the_limit():
    # Registered Monday 08:00; the clerk submits Tuesday 10:00 (7 + 2.5 = 9.5 working hours: late);
    # the leader directs 30 min later (on time); Ánh has held it since, still not acted Thursday 08:00.
    h = handling("A", "2026-11-16T08:00", [
        ("registered", "system:registry", "2026-11-16T08:00", None),
        ("submitted", "thu", "2026-11-17T10:00", "hung"),
        ("directed", "hung", "2026-11-17T10:30", None),
    ], [("anh", "2026-11-17T10:30", True)])
    on_time = handling("B", "2026-11-16T08:00", [
        ("registered", "system:registry", "2026-11-16T08:00", None),
        ("submitted", "thu", "2026-11-16T09:00", "hung"),
    ], [], status="submitted")
    now = datetime(2026, 11, 19, 8, 0, tzinfo=VN_TZ)
    late = domain.late_forwarders([h, on_time], STAFF, CAL, 8, now)
    by_holder = {r["user_id"]: r for r in late}
    assert set(by_holder) == {domain.CLERK_DESK, "anh", "hung"}
    assert by_holder[domain.CLERK_DESK]["items"][0]["working_hours"] == 9.5
    assert by_holder["anh"]["items"][0]["still_holding"] is True and by_holder["anh"]["name"] == "Nguyễn Thị Ánh"
    # Hùng got B on Monday 09:00 and has not directed it by Thursday 08:00.
    assert [i["incoming_id"] for i in by_holder["hung"]["items"]] == ["B"]
    # The agency's rule "late_forwarders" = clerk_only (Đà Nẵng Đ5.2): only the clerks' desk is counted.
    clerks = domain.late_forwarders([h, on_time], STAFF, CAL, 8, now, clerks_only=True)
    assert [r["user_id"] for r in clerks] == [domain.CLERK_DESK]
    facts = {"calendar": CAL.to_config(), "registration_limit_hours": 8, "staff": STAFF, "handlings": [h, on_time]}
    assert {r["user_id"] for r in domain.incoming_summary(facts, now)["late_forwarders"]} == set(by_holder)
    facts["late_forwarders_rule"] = "clerk_only"
    assert [r["user_id"] for r in domain.incoming_summary(facts, now)["late_forwarders"]] == [domain.CLERK_DESK]


def test_incoming_summary_and_gauge_values():
    now = datetime(2026, 11, 19, 8, 0, tzinfo=VN_TZ)
    facts = {"calendar": CAL.to_config(), "registration_limit_hours": 8, "staff": STAFF, "handlings": [
        handling("A", "2026-11-16T08:00", [], [("anh", "2026-11-16T09:00", True)], deadline="2026-11-17T17:00"),
        handling("B", "2026-11-16T08:00", [], [], status="received"),
    ]}
    summary = domain.incoming_summary(facts, now)
    assert summary["totals"] == {"received": 2, "handled": 0, "in_progress": 2, "overdue": 1, "done_late": 0}
    [late] = summary["overdue"]
    assert (late["incoming_id"], late["handler_name"], late["unit"], late["working_days_late"]) == \
        ("A", "Nguyễn Thị Ánh", "KT", 2)  # Wednesday and the start of Thursday
    assert domain.overdue_by_unit(facts, now) == {"KT": 1}
    assert domain.incoming_summary(facts, now, unit="VP")["totals"]["received"] == 0
    # units nest (Bình Định QĐ 376 Đ4.1 Bước 3): KT sits in VP, so VP's head counts KT's items; KT's head not VP's
    nested = {**facts, "units": {"VP": None, "KT": "VP", "TH": None}}
    assert domain.incoming_summary(nested, now, unit="VP")["totals"]["received"] == 1
    assert domain.incoming_summary(nested, now, unit="TH")["totals"]["received"] == 0
    assert domain.unit_within("kt", "VP", nested["units"]) and not domain.unit_within("VP", "KT", nested["units"])
    assert not domain.unit_within("A", "C", {"A": "B", "B": "A"})  # a loop in old data ends the walk


def test_outgoing_summary():
    rows = [{"type_code": "CV", "type_name": "Công văn", "signed": True, "state": "issued",
             "recipients": [{"channel": "interconnect", "status_code": "03"},
                            {"channel": "interconnect", "status_code": None},
                            {"channel": "internal", "status_code": None}]},
            {"type_code": "QĐ", "type_name": "Quyết định", "signed": False, "state": "recalled", "recipients": []}]
    s = domain.outgoing_summary(rows)
    assert (s["total"], s["signed"], s["signed_share"], s["recalled"]) == (2, 1, 0.5, 1)
    assert (s["recipients"], s["recipients_reported"], s["status_coverage"]) == (2, 1, 0.5)
    assert s["recipients_by_status"] == {"03": 1, "none": 1}


def test_hub_summary_from_real_relay_logs(tmp_path):
    """Two hub relay logs on SQLite: one package H60 -> national -> H17 delivered, one refused at H60."""
    settings = CommonSettings(data_dir=tmp_path)
    logs = {}
    for code in ("H60", "national", "H17"):
        db = Database("hub", f"hub.{code}", HubBase.metadata, settings)
        db.create_all()
        logs[code] = (db, RelayLog(db, f"hub.{code}"))
    try:
        h60, nat, h17 = (logs[c][1] for c in ("H60", "national", "H17"))
        h60.append("received", "m1", sender="000.00.00.H60")
        h60.append("validated", "m1", sender="000.00.00.H60", recipients=["000.00.00.H17"], detail="edoc")
        h60.append("routed", "m1", sender="000.00.00.H60", recipients=["000.00.00.H17"], detail="key=up")
        nat.append("received", "m1", sender="000.00.00.H60", recipients=["000.00.00.H17"])
        nat.append("routed", "m1", sender="000.00.00.H60", recipients=["000.00.00.H17"])
        h17.append("received", "m1", sender="000.00.00.H60", recipients=["000.00.00.H17"])
        h17.append("delivered", "m1", sender="000.00.00.H60", recipients=["000.00.00.H17"])
        h60.append("received", "m2", sender="000.00.09.H60")
        h60.append("rejected", "m2", sender="000.00.09.H60", detail="FORGED_SENDER: gói tin ghi 000.00.00.H60")
        today = datetime.now(VN_TZ).date()
        entries = {code: relay_entries(db, today, today) for code, (db, _log) in logs.items()}
        assert relay_entries(logs["H60"][0], date(2000, 1, 1), date(2000, 1, 2)) == []
    finally:
        for db, _log in logs.values():
            db.dispose()
    report = domain.hub_summary(entries)
    hubs = {h["hub"]: h for h in report["hubs"]}
    assert (hubs["H60"]["sent"], hubs["H60"]["rejected_by_reason"]) == (1, {"FORGED_SENDER": 1})
    assert hubs["H17"]["received"] == 1 and hubs["H17"]["deliveries_measured"] == 1
    assert hubs["H17"]["median_delivery_seconds"] >= 0 and hubs["national"]["received"] == 0
    agencies = {a["organ_id"]: a for a in report["agencies"]}
    assert agencies["000.00.00.H60"]["sent"] == 1 and agencies["000.00.00.H17"]["received"] == 1
    assert agencies["000.00.09.H60"]["rejected"] == 1


def test_report_hubs_command(tmp_path):
    """`congvan report hubs` over the relay logs of a run directory laid out like the demo's."""
    from typer.testing import CliRunner

    from infra.cli import _load_plugins, app
    from services.interconnect.topology import DEMO

    (tmp_path / "topology.json").write_text(DEMO.to_json())
    db = Database("hub", "hub.H60", HubBase.metadata, CommonSettings(data_dir=tmp_path / "data"))
    db.create_all()
    try:
        log = RelayLog(db, "hub.H60")
        log.append("received", "m9", sender="000.00.09.H60")
        log.append("rejected", "m9", sender="000.00.09.H60", detail="TOO_LARGE: 60000000 byte > 52428800 byte")
    finally:
        db.dispose()
    _load_plugins()
    result = CliRunner().invoke(app, ["report", "hubs", "--run-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    hubs = {h["hub"]: h for h in report["hubs"]}
    assert set(hubs) == {h.code for h in DEMO.hubs}
    assert hubs["H60"]["rejected_by_reason"] == {"TOO_LARGE": 1}
    assert {a["organ_id"]: a["rejected"] for a in report["agencies"]} == {"000.00.09.H60": 1}
    text = CliRunner().invoke(app, ["report", "hubs", "--run-dir", str(tmp_path)])
    assert text.exit_code == 0 and "TOO_LARGE: 1" in text.output and "Từ chối" in text.output
