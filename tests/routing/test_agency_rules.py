"""Routing's rules of the agency (services/common/agency_rules.py): the reception limit (kept in the
configuration's own column, 8 h in Đà Nẵng Đ5.2, 4 h in TP.HCM Đ6.2), whom the late-forwarder report counts
(TP.HCM Đ10 everyone, or the clerks only) and whether leaders sign on paper (Hưng Yên Đ6.3a), over PostgreSQL."""

from __future__ import annotations

import pytest

from services.common.errors import Forbidden, ValidationFailed
from services.routing.report_queries import handling_facts


def _rules(rows: list[dict]) -> dict[str, dict]:
    return {r["key"]: r for r in rows}


def test_defaults_then_the_admins_choice_reaches_the_limit_and_the_report(routing, database, people):
    shown = _rules(routing.get_rules(people.clerk))
    assert set(shown) == {"registration_limit_hours", "late_forwarders", "paper_signing"}
    assert shown["registration_limit_hours"]["value"] == 8 and "Đà Nẵng Điều 5.2" in shown[
        "registration_limit_hours"]["source"]
    assert shown["late_forwarders"]["value"] == "everyone" and shown["paper_signing"]["value"] == "no"
    assert handling_facts(database, people.leader)["late_forwarders_rule"] == "everyone"
    arrived = "2026-03-02T08:00:00+07:00"  # a Monday; working hours 07:30-11:30, 13:30-17:00
    assert routing.registration_deadline(people.clerk, arrived)["due"].startswith("2026-03-03T08:30")

    saved = _rules(routing.set_rules(people.admin, {"registration_limit_hours": 4, "late_forwarders": "clerk_only",
                                                    "paper_signing": "allowed"}))
    assert saved["registration_limit_hours"]["value"] == 4 and "Hưng Yên" in saved["paper_signing"]["source"]
    assert routing.get_config(people.clerk)["registration_limit_hours"] == 4  # the limit applied everywhere
    deadline = routing.registration_deadline(people.clerk, arrived)
    assert deadline["limit_hours"] == 4 and deadline["due"].startswith("2026-03-02T14:00")
    facts = handling_facts(database, people.leader)
    assert facts["late_forwarders_rule"] == "clerk_only" and facts["registration_limit_hours"] == 4


def test_only_the_admin_changes_routing_rules_and_values_are_checked(routing, people):
    with pytest.raises(Forbidden):
        routing.set_rules(people.leader, {"late_forwarders": "clerk_only"})
    with pytest.raises(ValidationFailed):
        routing.set_rules(people.admin, {"registration_limit_hours": 0})
    with pytest.raises(ValidationFailed):
        routing.set_rules(people.admin, {"legal_validity": "head_or_clerk"})  # the registry's, not routing's
    assert _rules(routing.get_rules(people.admin))["registration_limit_hours"]["value"] == 8
