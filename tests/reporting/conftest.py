"""One agency process (registry, routing, reporting) on its own vhost, and the data made through its RPCs,
shared by the reporting tests (service, files, gateway screens)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from infra import procs
from services.common.actor import Actor, Role, system_actor
from services.common.clock import now_utc, vn_date
from services.common.rpc_client import ServiceClient
from services.registry.numbering import numbering_year
from tests.agency import own_vhost, running_agency_process

AGENCY = "000.00.00.H60"
OTHER = "000.00.00.H17"
SERVICES = ("services.registry.service:RegistryService,services.routing.service:RoutingService,"
            "services.reporting.service:ReportingService,"
            "tests.registry.signing_standin:SigningStandIn")  # "Gửi văn bản" asks signing.verify (issue 18)


def person(user: str, *roles: str, unit: str | None = None, agency: str = AGENCY, name: str = "") -> Actor:
    return Actor(user_id=user, username=user, agency_id=agency, roles=frozenset(roles), full_name=name or user,
                 unit=unit)


ADMIN = person("quantri", Role.ADMIN)
CLERK = person("thuvt.vp", Role.CLERK, unit="VP", name="Vũ Thị Thu")
LEADER = person("hunglv", Role.LEADER, name="Lê Văn Hùng")
HEAD = person("namtv.kt", Role.DEPARTMENT_HEAD, unit="KT", name="Trần Văn Nam")
SPEC1 = person("anhnt.kt", Role.SPECIALIST, unit="KT", name="Nguyễn Thị Ánh")
SPEC2 = person("binhlq.nv", Role.SPECIALIST, unit="NV", name="Lê Quang Bình")
STRANGER = person("lanpt", Role.LEADER, agency=OTHER, name="Phạm Thị Lan")


def paper(n: int, subject: str) -> dict:
    return {"code_number": str(n), "code_notation": "UBND-VX", "subject": subject, "type_code": "CV",
            "organ_name": "Ủy ban nhân dân tỉnh Tuyên Quang", "issued_date": vn_date(now_utc()).isoformat()}


@pytest.fixture(scope="package")
def module_vhost(rabbit_admin, stack_env):
    """A vhost of its own for the package's agency process (the data is made once, read by every test)."""
    with own_vhost(rabbit_admin, stack_env, "t-reporting") as uri:
        yield uri


@pytest.fixture(scope="package")
def made(module_vhost, tmp_path_factory):
    """One agency process and the data made through its RPCs; yields (client, metrics port, what was made)."""
    tmp = tmp_path_factory.mktemp("reporting")
    data_dir = tmp / "data"
    data_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT", "DATABASE_URL")}
    env.update({"DATA_DIR": str(data_dir), "ROUTING_CHECK_BLOBS": "0", "REPORTING_OVERDUE_INTERVAL": "2"})
    with running_agency_process(SERVICES, module_vhost, tmp / "agency.log", env, agency=AGENCY) as port:
        client = ServiceClient(module_vhost, size=2, timeout=60)
        try:
            yield client, port, make_data(client)
        finally:
            client.close()


def make_data(client: ServiceClient) -> dict:
    call = client.call
    call("registry", "set_agency_profile", ADMIN, "Ủy ban nhân dân tỉnh Hà Giang", "UBND", "Hà Giang")
    registers = {d: call("registry", "create_register", ADMIN, d, numbering_year())["id"]
                 for d in ("incoming", "outgoing")}
    call("routing", "sync_staff", ADMIN, [
        {"user_id": a.user_id, "username": a.username, "full_name": a.full_name, "unit": a.unit,
         "roles": sorted(a.roles)} for a in (CLERK, LEADER, HEAD, SPEC1, SPEC2)])
    subjects = ["Về việc triển khai kế hoạch chuyển đổi số năm 2026",
                "Về việc báo cáo tình hình thực hiện dự án đường tỉnh",
                "Về việc tổ chức hội nghị tổng kết công tác văn thư"]
    # The overdue one: a document arriving after its own "Thời hạn giải quyết" had passed; the leader sets no
    # deadline (a day already past is refused), so the handling's deadline is the document's.
    past = (vn_date(now_utc()) - timedelta(days=20)).isoformat()
    future = (vn_date(now_utc()) + timedelta(days=40)).isoformat()
    papers = [paper(10 + i, s) for i, s in enumerate(subjects)]
    papers[0]["due_date"] = past
    docs = [call("registry", "register_paper_incoming", CLERK, p, [f"{i:064x}"]) for i, p in enumerate(papers)]
    procs.wait_until(lambda: len(call("routing", "report_handlings", LEADER)["handlings"]) == 3, 60,
                     "routing opened the three handlings")
    overdue, handled, _waiting = (d["id"] for d in docs)
    call("routing", "submit_incoming", CLERK, overdue, LEADER.user_id)
    directed = call("routing", "direct_incoming", LEADER, overdue, "Phòng Kinh tế chủ trì, tham mưu",
                    {"user_id": SPEC1.user_id}, None, None, None)
    assert directed["deadline_source"] == "document", directed
    call("routing", "submit_incoming", CLERK, handled, LEADER.user_id)
    call("routing", "direct_incoming", LEADER, handled, "Giao Phòng Nội vụ", {"user_id": SPEC2.user_id},
         None, None, future)
    call("routing", "keep_for_reference", SPEC2, handled, "Lưu tham khảo")

    recipient = {"organ_id": OTHER, "organ_name": "Ủy ban nhân dân tỉnh Tuyên Quang"}
    outgoing = []
    for type_code, notation, subject in (("CV", "UBND-VP", "Về việc góp ý dự thảo quy chế"),
                                         ("QĐ", "QĐ-UBND", "Quyết định ban hành quy chế văn thư")):
        outgoing.append(call("registry", "register_outgoing_signed", CLERK,
                             {"subject": subject, "type_code": type_code, "code_notation": notation,
                              "signer_position": "Chủ tịch", "signer_full_name": "Lê Văn Hùng",
                              "to_places": ["Như trên"]},
                             f"{len(outgoing) + 7:064x}", [recipient], registers["outgoing"]))
    edge = system_actor(AGENCY, "interconnect")
    call("registry", "record_status", edge, {"status_code": "03", "from": recipient,
                                             "response_for": {"document_id": outgoing[0]["document_id"]},
                                             "timestamp": now_utc().isoformat()})
    return {"incoming": docs, "subjects": subjects, "overdue_id": overdue, "deadline": past,
            "outgoing": outgoing, "copies": make_copies(client, docs[1], outgoing[0], recipient),
            "today": vn_date(now_utc()).isoformat()}


def make_copies(client: ServiceClient, incoming: dict, outgoing: dict, recipient: dict) -> list[dict]:
    """The copies register's lines: a sao y of the first outgoing document sent over the interconnect and on paper;
    a sao lục of a paper arrival sent on paper only, then recalled (at once: nobody to wait for)."""
    call = client.call
    register = call("registry", "create_register", ADMIN, "copies", numbering_year())["id"]
    sao_y = call("registry", "make_copy", CLERK, outgoing["id"], "SY", register)
    call("registry", "send_copy", CLERK, sao_y["id"],
         [recipient, {"organ_id": "giay-01", "organ_name": "Công ty TNHH Minh Phát", "channel": "paper"}])
    sao_luc = call("registry", "make_copy", CLERK, incoming["id"], "SL", register)
    call("registry", "send_copy", CLERK, sao_luc["id"],
         [{"organ_id": "giay-01", "organ_name": "Trường THPT Tân Trào", "channel": "paper"}])
    call("registry", "request_copy_change", CLERK, sao_luc["id"], "recall", "Sao nhầm văn bản")
    return [sao_y, sao_luc]
