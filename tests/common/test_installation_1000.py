"""A province-sized installation, cheaply (issue 16): one installation process (storage, signing, registry, routing
on one vhost) hosts 1,000 agencies recorded by the province operator's platform in one go (records and directory,
no process and no tables per agency until one is used). An agency picked at random is onboarded (its registers of
the year and its administrator), registers an incoming document and issues an outgoing one through the running
process; the process's idle resident memory is printed."""

from __future__ import annotations

import random
import time
from pathlib import Path

from gateway.app import Gateway
from gateway.models import HostedAgency
from gateway.platform import AgencyForm
from services.common.actor import Actor, Role
from services.common.clock import now_utc
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.storage.blobs import blob_store
from tests.agency import INSTALLATION_SERVICES, embedded_installation, running_agency_process
from tests.e2e.helpers import vietnamese_pdf

AGENCIES = 1000
INSTALLATION = "000.00.00.H60"


def organ(n: int) -> str:
    """000.00.01.H60 ... 000.99.99.H60 (valid level-2/3 codes under Tuyên Quang)."""
    return f"000.{n // 100:02d}.{n % 100:02d}.H60"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def host_in_bulk(gateway: Gateway, ids: list[str]) -> None:
    """What `congvan agency add` records, for many agencies in one transaction each (their tables come later)."""
    with gateway.db.session() as s:
        s.add_all(HostedAgency(organ_id=o, name=f"Đơn vị {o}", installation=INSTALLATION, hub="H60",
                               created_at=now_utc()) for o in ids)
    gateway.directory().import_records({"organ_id": o, "name": f"Đơn vị {o}", "hub": "H60"} for o in ids)


def test_a_thousand_agency_installation_serves_one_picked_at_random(fresh_vhost, tmp_path):
    gateway, env = embedded_installation(tmp_path, fresh_vhost, organ_id=INSTALLATION, rpc_timeout=60)
    ids = [organ(n) for n in range(1, AGENCIES)]
    started = time.monotonic()
    host_in_bulk(gateway, ids)
    assert len(gateway.platform.agencies()) == AGENCIES and gateway.directory().count() == AGENCIES - 1
    print(f"\n{AGENCIES} agencies recorded in {time.monotonic() - started:.1f}s")

    with running_agency_process(INSTALLATION_SERVICES, fresh_vhost, tmp_path / "installation.log", env, agency="",
                                installation="tuyenquang", ready_timeout=180) as port:
        from infra.procs import http_ok

        assert http_ok(f"http://127.0.0.1:{port}/healthz")
        pid = _pid_on(port)
        picked = random.choice(ids)
        print(f"picked {picked}")
        done = gateway.platform.add(AgencyForm(organ_id=picked, name=f"Đơn vị {picked}", installation=INSTALLATION,
                                               admin_full_name="Nguyễn Văn Quản", admin_unit="qt"))
        assert done.created is False and done.warnings == [] and done.admin["username"] == "quannv.qt"
        client = ServiceClient(fresh_vhost, size=1, timeout=120)
        try:
            clerk = Actor(user_id="van-thu", username="vanthu", agency_id=picked, roles=frozenset({Role.CLERK}),
                          full_name="Văn thư", unit="VP")
            registers = {r["direction"]: r for r in client.call("registry", "list_registers", clerk)}
            assert {"incoming", "outgoing"} <= set(registers)
            store = blob_store(CommonSettings(data_dir=tmp_path), picked)
            pdf = store.put_bytes(vietnamese_pdf("ỦY BAN NHÂN DÂN", f"Công văn của {picked}")).sha256
            incoming = client.call("registry", "register_paper_incoming", clerk,
                                   {"code_number": "15", "code_notation": "UBND-VX", "subject": "Về việc thử nghiệm",
                                    "organ_name": "UBND tỉnh Tuyên Quang", "issued_date": "2026-01-05"}, [pdf])
            assert incoming["number"] == 1
            admin = Actor(user_id="qt", username="qt", agency_id=picked, roles=frozenset({Role.ADMIN}))
            client.call("registry", "set_send_policy", admin, True)
            issued = client.call("registry", "register_outgoing_signed", clerk, {
                "code_number": "1", "code_notation": "UBND-VP", "type_code": "CV", "subject": "Về việc phát hành",
                "signer_full_name": "Nguyễn Văn An", "signer_position": "Chủ tịch", "issued_date": "2026-01-06",
                "accept_not_legally_valid": True}, pdf, [{"organ_id": INSTALLATION, "organ_name": "UBND tỉnh"}],
                registers["outgoing"]["id"])
            assert issued["state"] == "issued" and issued["number"] == 1
            # Only the picked agency has tables: the other 999 cost no file until someone uses them.
            assert [p.name for p in tmp_path.glob("*/registry.sqlite3")] == ["registry.sqlite3"]
        finally:
            client.close()
        time.sleep(5)  # let the workers go idle before reading the resident memory
        print(f"installation process idle with {AGENCIES} agencies hosted: {rss_kb(pid) / 1024:.0f} MB resident")
    gateway.backends.close()


def _pid_on(port: int) -> int:
    """The process listening on `port` (the installation's metrics port)."""
    import subprocess

    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return int(out.split("pid=", 1)[1].split(",", 1)[0])
