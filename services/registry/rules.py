"""The agency's rules that the registry applies (services/common/agency_rules.py): what makes a document legally
valid, who opens registers, when a dossier is due for transfer to the archive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from services.common import agency_rules, clock
from services.common.actor import Actor, Role
from services.common.db import Database
from services.registry.documents import _in_agency

OWNER = "registry"
Verify = Callable[[str], dict[str, Any]]
SIGNATURE_OF_HEAD_OR_CLERK = ("leader", "seal")


def get_rules(db: Database, actor: Actor) -> list[dict[str, Any]]:
    _in_agency(db, actor)
    with db.session() as session:
        return agency_rules.read(session, actor.agency_id, OWNER)


def set_rules(db: Database, actor: Actor, changes: dict[str, Any]) -> list[dict[str, Any]]:
    _in_agency(db, actor)
    actor.require(Role.ADMIN)
    with db.session() as session:
        agency_rules.write(session, actor.agency_id, OWNER, changes, actor.user_id, clock.now_utc())
        return agency_rules.read(session, actor.agency_id, OWNER)


def value(db: Database, key: str) -> Any:
    with db.session() as session:
        return agency_rules.value_of(session, db.agency_id, key)


# -- legal validity ---------------------------------------------------------------------------------------------

def legally_valid_under(report: Any, rule: str) -> Any:
    """Signing's report judged by the agency's rule. "seal_and_leader" (the default) keeps signing's verdict. Hưng
    Yên Đ8.3 ("head_or_clerk"): a document with every signature valid and trusted is legally valid with at least
    the head's or the clerk's (agency) signature, so signing's "incomplete" (seal missing) becomes valid when the
    leader's signature is there. A broken or untrusted signature is never made valid."""
    if rule != "head_or_clerk" or not isinstance(report, dict) or report.get("legally_valid") is True:
        return report
    if report.get("verdict") != "incomplete":
        return report
    valid = [s for s in report.get("signatures") or [] if isinstance(s, dict) and s.get("valid") is True]
    if not any(s.get("role") in SIGNATURE_OF_HEAD_OR_CLERK for s in valid):
        return report
    names = ", ".join(str(s.get("signer") or s.get("field") or "") for s in valid)
    return {**report, "legally_valid": True, "legal_rule": rule,
            "summary_vi": f"Văn bản có giá trị pháp lý theo quy định của cơ quan (có chữ ký số hợp lệ của thủ trưởng "
                          f"hoặc văn thư, Hưng Yên Điều 8.3): {names}."}


def judged(db: Database, verify: Verify | None) -> Verify | None:
    """`verify` whose answers are judged by the agency's rule (read once, when the work starts)."""
    if verify is None:
        return None
    rule = value(db, "legal_validity")
    if rule == agency_rules.RULES["legal_validity"].default:
        return verify
    return lambda sha: legally_valid_under(verify(sha), rule)


# -- registers ---------------------------------------------------------------------------------------------------

def require_register_opener(db: Database, actor: Actor) -> None:
    """The administrator; the clerk too where the agency says so (NĐ 30 Điều 16, 22)."""
    if value(db, "register_openers") == "admin_and_clerk":
        actor.require(Role.ADMIN, Role.CLERK)
    else:
        actor.require(Role.ADMIN)


# -- dossiers ----------------------------------------------------------------------------------------------------

def dossier_due(session: Session, agency_id: str, end: date, construction: bool, standard: date) -> date:
    """The due date of transfer to the archive by the agency's rule (`standard`: NĐ 30 Điều 30's)."""
    return submission_due_under(end, construction, agency_rules.value_of(session, agency_id, "dossier_transfer_due"),
                                standard)


def submission_due_under(end: date, construction: bool, rule: str, standard: date) -> date:
    """Bình Định (Quy chế kèm QĐ 376/QĐ-SNV Điều 4.3, Bước 3): dossiers are handed over in the first quarter of the
    year after they end, so the due date is 31 March of that year; construction dossiers keep NĐ 30's 3 months
    after settlement. `standard` is NĐ 30 Điều 30's date."""
    if rule == "first_quarter_next_year" and not construction:
        return date(end.year + 1, 3, 31)
    return standard
