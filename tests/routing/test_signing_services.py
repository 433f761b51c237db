"""Approving and signing through the real services: routing and signing as separate agency processes on a fresh
vhost, with a test PKI. A delegate signs with their own certificate inside the period (the document verifies),
is refused outside it, and an approval fails cleanly when the signing service does not answer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from services.common.actor import Actor
from services.common.clock import now_vn
from services.common.errors import CongVanError, Forbidden, NotFound
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.interconnect.topology import DEMO
from services.signing import pki, sample
from services.storage.blobs import blob_store
from tests.agency import running_agency_process

AGENCY = "000.00.00.H60"
SIGNING = "services.signing.service:SigningService"
ROUTING = "services.routing.service:RoutingService"
TIMEOUT_SECONDS = 3  # the timeout test's bound; the others wait as long as a first signature may take


def person(user_id: str, role: str, full_name: str, unit: str | None = None) -> Actor:
    return Actor(user_id=user_id, username=user_id, agency_id=AGENCY, roles=frozenset({role}), full_name=full_name,
                 unit=unit)


ADMIN = person("u-admin", "admin", "Hoàng Đức Mạnh", "VPTQ")
CLERK = person("u-clerk", "clerk", "Lê Thị Hoa", "VPTQ")
LEADER = person("u-leader", "leader", "Nguyễn Văn An", "VPTQ")
HEAD = person("u-head", "department_head", "Phạm Minh Tuấn", "THTQ")
SPECIALIST = person("u-spec", "specialist", "Đỗ Thu Trang", "THTQ")
POSITIONS = {"u-leader": "Chủ tịch", "u-head": "Trưởng phòng Tổng hợp", "u-clerk": "Văn thư",
             "u-spec": "Chuyên viên", "u-admin": "Quản trị hệ thống"}
LEADER_ONLY_CHAIN = [{"key": "leader", "label": "Lãnh đạo cơ quan", "roles": ["leader"], "signs": True}]


@pytest.fixture(scope="module")
def module_pki(tmp_path_factory) -> pki.Pki:
    return pki.init_pki(tmp_path_factory.mktemp("pki"), pki.demo_agencies(DEMO.agencies[:1]))


class Agency:
    """Routing and signing in two processes (signing can be stopped alone), one blob folder."""

    def __init__(self, amqp_uri: str, data_dir: Path, pki_dir: Path, stack: ExitStack, signing_timeout: int) -> None:
        self.amqp_uri, self.data_dir, self.stack = amqp_uri, data_dir, stack
        self.env = {**os.environ, "DATA_DIR": str(data_dir), "SIGNING_PKI_DIR": str(pki_dir),
                    "ROUTING_SIGNING_TIMEOUT": str(signing_timeout), "ROUTING_REMINDER_INTERVAL": "3600"}
        self.signing = ExitStack()
        stack.callback(self.signing.close)  # closing again after stop_signing() is a no-op
        self.signing.enter_context(running_agency_process(SIGNING, amqp_uri, data_dir / "signing.log", self.env,
                                                          agency=AGENCY, ready_timeout=60))
        stack.enter_context(running_agency_process(ROUTING, amqp_uri, data_dir / "routing.log", self.env,
                                                   agency=AGENCY, ready_timeout=60))
        self.client = ServiceClient(amqp_uri, size=2, timeout=60)
        self.blobs = blob_store(CommonSettings(data_dir=data_dir, s3_endpoint=None, agency_id=AGENCY), AGENCY)

    def call(self, actor: Actor, service: str, method: str, *args, **kwargs):
        return self.client.call(service, method, actor, *args, **kwargs)

    def stop_signing(self) -> None:
        self.signing.close()


@pytest.fixture
def start_agency(fresh_vhost, tmp_path, module_pki) -> Iterator:
    """start(signing_timeout) -> Agency with staff and a leader-only review chain; stopped after the test."""
    with ExitStack() as stack:
        def start(signing_timeout: int = 120) -> Agency:
            a = Agency(fresh_vhost, tmp_path, module_pki.dir, stack, signing_timeout)
            stack.callback(a.client.close)
            a.call(ADMIN, "routing", "configure", review_chain=LEADER_ONLY_CHAIN,
                   agency_name="UBND tỉnh Tuyên Quang")
            a.call(ADMIN, "routing", "sync_staff", [
                {"user_id": p.user_id, "username": p.username, "full_name": p.full_name, "unit": p.unit,
                 "roles": sorted(p.roles), "position": POSITIONS[p.user_id]}
                for p in (ADMIN, CLERK, LEADER, HEAD, SPECIALIST)])
            return a

        yield start


def submitted_draft(agency: Agency, title: str) -> int:
    draft = agency.blobs.put_bytes(sample.draft_pdf()).sha256
    prepared = agency.call(SPECIALIST, "signing", "prepare_draft", draft)["sha256"]
    draft_id = agency.call(SPECIALIST, "routing", "create_draft", title, prepared)["draft_id"]
    agency.call(SPECIALIST, "routing", "submit_draft", draft_id)
    return draft_id


def iso(delta: timedelta) -> str:
    return (now_vn() + delta).isoformat(timespec="seconds")


def test_delegate_signs_inside_the_period_with_own_certificate(start_agency, module_pki):
    agency = start_agency()
    p12 = next(p for p in pki.personal_certificates(module_pki, AGENCY) if p["name"] == HEAD.full_name)["p12"]
    agency.call(ADMIN, "signing", "register_certificate", HEAD.user_id, "personal", {"source": "pkcs12", "p12": p12})
    draft_id = submitted_draft(agency, "Kế hoạch tổ chức Hội nghị tổng kết năm 2026")

    # the period is over: the delegate has no say over the draft
    agency.call(LEADER, "routing", "delegate", HEAD.user_id, iso(-timedelta(days=3)), iso(-timedelta(days=1)),
                ["approve"])
    with pytest.raises((NotFound, Forbidden)):
        agency.call(HEAD, "routing", "approve_draft", draft_id)
    assert agency.call(LEADER, "routing", "get_draft", draft_id)["status"] == "in_review"
    # nor can the department head use signing directly without a delegation
    version = agency.call(LEADER, "routing", "get_draft", draft_id)
    with pytest.raises(Forbidden):
        agency.call(HEAD, "signing", "sign_leader", version["versions"][-1]["pdf_sha256"], HEAD.user_id)

    agency.call(LEADER, "routing", "delegate", HEAD.user_id, iso(-timedelta(hours=1)), iso(timedelta(days=1)),
                ["approve"])
    signed = agency.call(HEAD, "routing", "approve_draft", draft_id, "Đồng ý ban hành")
    assert (signed["status"], signed["signed_by"], signed["signed_on_behalf_of"]) == \
        ("signed", HEAD.user_id, LEADER.user_id)

    sealed = agency.call(CLERK, "signing", "fill_and_seal", signed["signed_sha256"], "Số: 31/KH-UBND",
                         "Tuyên Quang, ngày 21 tháng 11 năm 2026", "31/KH-UBND", [])
    report = agency.call(CLERK, "signing", "verify", sealed["sha256"])
    assert report["verdict"] == "valid" and report["legally_valid"] is True
    personal = next(s for s in report["signatures"] if s["field"] == "LanhDao")
    assert personal["signer"] == "Phạm Minh Tuấn" and personal["valid"] and personal["trusted"]
    assert personal["reason"].startswith("TUQ. CHỦ TỊCH (Nguyễn Văn An) – Trưởng phòng Tổng hợp Phạm Minh Tuấn "
                                         "thừa ủy quyền ký")


def test_approval_fails_cleanly_when_signing_does_not_answer(start_agency):
    agency = start_agency(signing_timeout=TIMEOUT_SECONDS)
    draft_id = submitted_draft(agency, "Báo cáo kết quả thực hiện nhiệm vụ tháng 11")
    before = agency.call(LEADER, "routing", "get_draft", draft_id)
    agency.stop_signing()  # its queue stays: the request waits for a consumer that does not come

    with pytest.raises(CongVanError) as err:
        agency.call(LEADER, "routing", "approve_draft", draft_id, "Đồng ý")
    assert err.value.code == "signing_unavailable"
    assert f"dịch vụ ký số không trả lời trong {TIMEOUT_SECONDS} giây" in err.value.message_vi
    after = agency.call(LEADER, "routing", "get_draft", draft_id)
    assert (after["status"], after["signed_sha256"], after["step"]) == ("in_review", None, before["step"])
    assert not any(n["kind"] == "signed" for n in agency.call(SPECIALIST, "routing", "list_notifications"))
