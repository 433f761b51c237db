"""The registry and the real signing service in one agency process (storage, signing, registry) on a fresh vhost.

(a) receive_package keeps signing's verification report: a leader+seal signed PDF is legally valid, an
    unsigned one is for reference only and may be rejected with INVALID_SIGNATURE;
(b) issue_outgoing on a leader-signed draft gets the register's number and date written and sealed by signing.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from infra import procs
from services.common.actor import Role, system_actor
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.interconnect.topology import DEMO
from services.registry.catalog import REJECT_REASONS, SIGNATURE_REASONS
from services.registry.domain import State
from services.registry.numbering import numbering_year
from services.signing import layout, models, pki, sample
from services.signing.settings import SigningSettings
from services.signing.workflow import Signing
from services.storage.blobs import blob_store
from tests.agency import running_agency_process
from tests.registry.conftest import AGENCY, OTHER, package, person

SERVICES = ("services.storage.service:StorageService,services.signing.service:SigningService,"
            "services.registry.service:RegistryService")
ADMIN = person("quantri", Role.ADMIN)
CLERK = person("thuvt.vp", Role.CLERK)
EDGE = system_actor(AGENCY, "interconnect")


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory) -> pki.Pki:
    return pki.init_pki(tmp_path_factory.mktemp("pki"), pki.demo_agencies(DEMO.agencies))


@pytest.fixture
def agency(fresh_vhost, test_pki, tmp_path):
    """The agency process; yields (client, blob store of the agency, data dir). Stopped even when a test fails."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT", "DATABASE_URL")}
    env.update({"DATA_DIR": str(data_dir), "SIGNING_PKI_DIR": str(test_pki.dir), "PKI_DIR": str(test_pki.dir),
                "REGISTRY_REVERIFY_INTERVAL": "2"})
    with running_agency_process(SERVICES, fresh_vhost, tmp_path / "agency.log", env, agency=AGENCY):
        client = ServiceClient(fresh_vhost, size=2, timeout=120)
        try:
            client.call("registry", "set_agency_profile", ADMIN, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND",
                        "Tuyên Quang")
            registers = {d: client.call("registry", "create_register", ADMIN, d, numbering_year())["id"]
                         for d in ("incoming", "outgoing")}
            yield client, blob_store(CommonSettings(agency_id=AGENCY, data_dir=data_dir)), registers
        finally:
            client.close()


def signed_by_other_agency(test_pki: pki.Pki, work: Path) -> bytes:
    """A PDF issued by Đà Nẵng: its leader's certifying signature, then number, date and its seal."""
    settings = SigningSettings(agency_id=OTHER, data_dir=work, signing_pki_dir=test_pki.dir)
    db = Database("signing", OTHER, models.Base.metadata, settings)
    db.create_all()
    try:
        signing = Signing(settings, db)
        leader = test_pki.manifest["agencies"][OTHER]["leaders"][0]["username"]
        draft = signing.blobs.put_bytes(sample.draft_pdf("Ủy ban nhân dân thành phố Đà Nẵng", "Lê Văn Cường"))
        prepared = signing.prepare_draft(draft.sha256)
        signed = signing.sign_leader(prepared["sha256"], leader)
        sealed = signing.fill_and_seal(signed["sha256"], "Số: 12/UBND-VX", "Đà Nẵng, ngày 05 tháng 01 năm 2026",
                                       "12/UBND-VX")
        return signing.blobs.read(sealed["sha256"])
    finally:
        db.dispose()


def test_incoming_verification_is_signings_report(agency, test_pki, tmp_path):
    client, blobs, _registers = agency
    signed = blobs.put_bytes(signed_by_other_agency(test_pki, tmp_path / "danang")).sha256
    unsigned = blobs.put_bytes(sample.draft_pdf("Ủy ban nhân dân thành phố Đà Nẵng")).sha256

    def receive(n: int, sha: str) -> dict:
        pkg = package(n)
        pkg["attachments"][0].update(sha256=sha, size=len(blobs.read(sha)))
        got = client.call("registry", "receive_package", EDGE, pkg)
        return client.call("registry", "get_document", CLERK, got["incoming_id"])

    valid = verified(client, receive(12, signed))
    assert valid["verification_state"] == "valid" and valid["legally_valid"] is True
    report = valid["verification"]
    assert report["verdict"] == "valid" and report["legally_valid"] is True and report["sha256"] == signed
    assert {s["field"] for s in report["signatures"] if s["valid"]} == {"LanhDao", "DauCoQuan"}
    # a valid signature cannot be refused as invalid: none of the signature reasons is offered
    assert "WRONG_RECIPIENT" in valid["reject_reasons"] and not SIGNATURE_REASONS & set(valid["reject_reasons"])
    with pytest.raises(ValidationFailed) as exc:
        client.call("registry", "reject_incoming", CLERK, valid["id"], "INVALID_SIGNATURE", "Chữ ký sai")
    assert exc.value.code == "signature_valid"

    reference = verified(client, receive(13, unsigned))
    assert reference["verification_state"] == "invalid" and reference["legally_valid"] is False
    assert reference["verification"]["verdict"] == "unsigned" and reference["verification"]["summary_vi"]
    assert reference["reject_reasons"] == list(REJECT_REASONS)
    rejected = client.call("registry", "reject_incoming", CLERK, reference["id"], "INVALID_SIGNATURE",
                           "Văn bản không có chữ ký số")
    assert rejected["state"] == State.REJECTED and rejected["reject_reason"] == "INVALID_SIGNATURE"


def verified(client: ServiceClient, doc: dict) -> dict:
    """The document once signing answered: at once, or by the registry's background retry if it was slow."""
    procs.wait_until(lambda: client.call("registry", "get_document", CLERK, doc["id"])["verification_state"]
                     != "pending", 120, "verification")
    return client.call("registry", "get_document", CLERK, doc["id"])


def test_verification_deferred_while_the_pdf_is_missing_is_retried(agency):
    client, blobs, _registers = agency
    pdf = sample.draft_pdf(subject="Về việc gửi sau")
    pkg = package(14)
    pkg["attachments"][0].update(sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf))
    got = client.call("registry", "receive_package", EDGE, pkg)
    doc = client.call("registry", "get_document", CLERK, got["incoming_id"])
    assert doc["verification_state"] == "pending"  # signing answered "not found": kept, verified later
    blobs.put_bytes(pdf)
    doc = verified(client, doc)
    assert doc["verification_state"] == "invalid" and doc["verification"]["verdict"] == "unsigned"


def test_issue_outgoing_fills_the_registers_number_and_seals(agency, tmp_path):
    client, blobs, registers = agency
    leader = person("annv.ubnd", Role.LEADER)  # the demo leader of H60 in the test PKI
    draft = blobs.put_bytes(sample.draft_pdf()).sha256
    prepared = client.call("signing", "prepare_draft", CLERK, draft)["sha256"]
    signed = client.call("signing", "sign_leader", leader, prepared, "annv.ubnd", "Đồng ý ban hành")["sha256"]
    waiting = client.call("registry", "submit_for_issue", EDGE, {
        "draft_id": "d-signing-1", "type_code": "QĐ", "subject": "Quyết định về chữ ký số", "pdf_sha256": signed,
        "signer": {"position": "Chủ tịch", "full_name": "Nguyễn Văn An"}, "handlers": ["thuvt.vp"]})
    issued = client.call("registry", "issue_outgoing", CLERK, waiting["id"], registers["outgoing"],
                         [{"organ_id": OTHER, "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng"}])
    assert issued["state"] == State.ISSUED and issued["number"] == 1

    doc = client.call("registry", "get_document", CLERK, waiting["id"])
    (out_sha,) = [a["sha256"] for a in doc["attachments"] if a["role"] == "signed"]
    report = client.call("signing", "verify", CLERK, out_sha)
    assert report["verdict"] == "valid" and report["legally_valid"] is True
    assert [s["field"] for s in report["signatures"] if s["valid"]] == ["LanhDao", "DauCoQuan"]
    assert len(report["signatures"]) == 2
    out = tmp_path / "issued.pdf"
    out.write_bytes(blobs.read(out_sha))
    assert field_text(out, "so_van_ban") == "Số: 01/QĐ-UBND"
    assert field_text(out, "ngay_ban_hanh").startswith("Tuyên Quang, ngày ")


def field_text(pdf: Path, field: str) -> str:
    """What poppler reads inside a field's rectangle on page 1 (pdftotext crops in 72 dpi pixels from the top)."""
    x1, y1, x2, y2 = layout.resolve_layout(None)[field].rect
    top = layout.A4[1] - y2
    return subprocess.run(["pdftotext", "-r", "72", "-x", str(int(x1) - 2), "-y", str(int(top) - 2),
                           "-W", str(int(x2 - x1) + 4), "-H", str(int(y2 - y1) + 4), "-f", "1", "-l", "1",
                           str(pdf), "-"], capture_output=True, text=True, check=True).stdout.strip()


# --- the same rules over the operations, without processes (SQLite) ---------------------------------------

def test_only_an_explicit_legally_valid_report_makes_a_document_legally_valid(sqlite_db, edge):
    from services.registry import operations as ops

    def receive(n: int, report) -> dict:
        got = ops.receive_package(sqlite_db, edge, package(n), verify=lambda _sha: report)
        return ops.get_document(sqlite_db, CLERK, got["incoming_id"])

    assert receive(1, {"verdict": "valid", "legally_valid": True})["legally_valid"] is True
    for n, report in enumerate(({"verdict": "incomplete", "legally_valid": False}, {"valid": True}, "garbage"), 2):
        doc = receive(n, report)
        assert doc["verification_state"] == "invalid" and doc["legally_valid"] is False
        assert "INVALID_SIGNATURE" in doc["reject_reasons"]


def test_reverify_pending_records_the_report_once_signing_answers(sqlite_db, edge):
    from services.registry import operations as ops

    def down(_sha):
        raise TimeoutError("signing is slow")

    got = ops.receive_package(sqlite_db, edge, package(5), verify=down)
    assert ops.reverify_pending(sqlite_db, edge, down) == []  # still down: stays pending
    asked: list[str] = []
    done = ops.reverify_pending(sqlite_db, edge, lambda sha: asked.append(sha) or {"legally_valid": True})
    assert done == [{"incoming_id": got["incoming_id"], "verification_state": "valid"}]
    assert asked == [package(5)["attachments"][0]["sha256"]]
    doc = ops.get_document(sqlite_db, CLERK, got["incoming_id"])
    assert doc["legally_valid"] is True and doc["history"][-1]["action"] == "verified"
    assert ops.reverify_pending(sqlite_db, edge, down) == []  # nothing pending any more
