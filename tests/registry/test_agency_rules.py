"""The registry's rules of the agency (services/common/agency_rules.py), each with both behaviours:
legal validity (NĐ 30 / Đà Nẵng Đ2.1 vs Hưng Yên Đ8.3) with a PDF signed by the real signing code, who opens
registers (administrator vs administrator and clerk), when a dossier is due for transfer (NĐ 30 Điều 30 vs Bình Định
Điều 4.3: first quarter of the next year)."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.actor import Role, system_actor
from services.common.db import Database
from services.common.errors import Forbidden, ValidationFailed
from services.interconnect.topology import DEMO
from services.registry import dossier_domain, dossier_items, dossiers, rules
from services.registry import operations as ops
from services.registry.numbering import numbering_year
from services.signing import models, pki, sample
from services.signing.settings import SigningSettings
from services.signing.workflow import Signing
from tests.registry.conftest import AGENCY, OTHER, package, person, sha

ADMIN = person("quantri", Role.ADMIN)
CLERK = person("thuvt.vp", Role.CLERK)
EDGE = system_actor(AGENCY, "interconnect")


@pytest.fixture(scope="module")
def leader_only(tmp_path_factory):
    """A PDF signed by Đà Nẵng's leader and not sealed, and the real `verify` of signing over it."""
    work = tmp_path_factory.mktemp("signing")
    test_pki = pki.init_pki(work / "pki", pki.demo_agencies(DEMO.agencies))
    settings = SigningSettings(agency_id=OTHER, data_dir=work, signing_pki_dir=test_pki.dir)
    db = Database("signing", OTHER, models.Base.metadata, settings)
    db.create_all()
    signing = Signing(settings, db)
    leader = test_pki.manifest["agencies"][OTHER]["leaders"][0]["username"]
    draft = signing.blobs.put_bytes(sample.draft_pdf("Ủy ban nhân dân thành phố Đà Nẵng", "Lê Văn Cường"))
    signed = signing.sign_leader(signing.prepare_draft(draft.sha256)["sha256"], leader)["sha256"]
    yield signed, signing.verify
    db.dispose()


def _receive(db, n: int, sha: str, verify) -> dict:
    pkg = package(n)
    pkg["attachments"][0]["sha256"] = sha
    got = ops.receive_package(db, EDGE, pkg, verify)
    return ops.get_document(db, CLERK, got["incoming_id"])


def test_rules_of_the_registry_have_defaults_and_refuse_wrong_values(sqlite_db):
    shown = {r["key"]: r for r in rules.get_rules(sqlite_db, CLERK)}
    assert shown["legal_validity"]["value"] == "seal_and_leader"
    assert shown["register_openers"]["value"] == "admin" and "Đà Nẵng" in shown["register_openers"]["source"]
    assert shown["dossier_transfer_due"]["value"] == "one_year_after_end"
    with pytest.raises(Forbidden):
        rules.set_rules(sqlite_db, CLERK, {"register_openers": "admin_and_clerk"})
    with pytest.raises(ValidationFailed):
        rules.set_rules(sqlite_db, ADMIN, {"legal_validity": "anything"})
    with pytest.raises(ValidationFailed):  # routing keeps this one
        rules.set_rules(sqlite_db, ADMIN, {"late_forwarders": "clerk_only"})
    saved = {r["key"]: r for r in rules.set_rules(sqlite_db, ADMIN, {"legal_validity": "head_or_clerk"})}
    assert saved["legal_validity"]["value"] == "head_or_clerk" and "Hưng Yên" in saved["legal_validity"]["source"]


def test_legal_validity_seal_and_leader_or_head_or_clerk(sqlite_db, leader_only):
    sha, verify = leader_only
    strict = _receive(sqlite_db, 21, sha, verify)
    assert strict["verification_state"] == "invalid" and strict["legally_valid"] is False
    assert strict["verification"]["verdict"] == "incomplete"  # no seal: NĐ 30's rule says not valid

    rules.set_rules(sqlite_db, ADMIN, {"legal_validity": "head_or_clerk"})
    lenient = _receive(sqlite_db, 22, sha, verify)
    assert lenient["verification_state"] == "valid" and lenient["legally_valid"] is True
    assert "Hưng Yên" in lenient["verification"]["summary_vi"]
    # an unsigned document stays for reference only under either rule
    unsigned = _receive(sqlite_db, 23, sha, lambda _sha: {"verdict": "unsigned", "legally_valid": False,
                                                           "signatures": []})
    assert unsigned["verification_state"] == "invalid"


def test_who_opens_registers(sqlite_db):
    with pytest.raises(Forbidden):
        ops.create_register(sqlite_db, CLERK, "incoming", 2031)
    ops.create_register(sqlite_db, ADMIN, "incoming", 2031)
    rules.set_rules(sqlite_db, ADMIN, {"register_openers": "admin_and_clerk"})
    opened = ops.create_register(sqlite_db, CLERK, "outgoing", 2031)
    assert opened["year"] == 2031
    assert ops.close_register(sqlite_db, CLERK, opened["id"])["closed"] is True


def test_dossier_transfer_due_one_year_after_or_first_quarter_next_year(sqlite_db, clerk):
    keeper = person("anhnv.vp", Role.SPECIALIST)
    ops.create_register(sqlite_db, ADMIN, "incoming", numbering_year())
    due = {}
    for n, rule in ((31, "one_year_after_end"), (32, "first_quarter_next_year")):
        rules.set_rules(sqlite_db, ADMIN, {"dossier_transfer_due": rule})
        d = dossiers.open_dossier(sqlite_db, keeper, title=f"Hồ sơ {n}", file_notation=f"{n}.HC", retention=10,
                                  start_date="2026-01-01")["id"]
        paper = ops.register_paper_incoming(sqlite_db, clerk, {
            "code_number": str(n), "code_notation": "SNV-TCBC", "subject": f"Về việc {n}", "organ_name": "Sở Nội vụ",
            "issued_date": "2026-02-01", "page_amount": 1}, [sha(f"scan{n}")])["id"]
        dossier_items.add_document(sqlite_db, keeper, d, paper)
        due[rule] = dossiers.close_dossier(sqlite_db, keeper, d, end_date="2026-06-15")["submission_due"]
    assert due == {"one_year_after_end": "2027-06-15", "first_quarter_next_year": "2027-03-31"}

    end = date(2026, 6, 15)
    standard = dossier_domain.submission_due(end, False)
    assert standard == date(2027, 6, 15)
    assert rules.submission_due_under(end, False, "one_year_after_end", standard) == standard
    assert rules.submission_due_under(end, False, "first_quarter_next_year", standard) == date(2027, 3, 31)
    building = dossier_domain.submission_due(end, True)  # construction: 3 months after settlement under both
    assert rules.submission_due_under(end, True, "first_quarter_next_year", building) == building
