"""On the whole deployment: a specialist of the Tổng hợp unit of UBND tỉnh Tuyên Quang drafts a document, the head of
the unit and the leader approve and sign it, the clerk numbers and issues it to Sở Nội vụ; the printed outgoing
register (screen, XLSX and PDF) names the drafting unit in column 6 ("Đơn vị, người nhận bản lưu"). The package
received by Sở Nội vụ's interconnect edge is in that edge's audit chain under the edge's system actor, `congvan
audit log` lists it, and `congvan audit verify` finds a change made to that row (on a copy of the edge's database:
the shared deployment is never tampered with)."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import MetaData, create_engine, update

from services.common import audit, audit_verify
from services.common.clock import now_utc, vn_date
from services.reporting.domain import FILED_COPY_CLERK
from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, wait_for
from tests.gateway.test_drafting import create_draft, post, prepare_agency_for_drafts
from tests.ops.test_audit_agency import tamper

H60, SNV = "000.00.00.H60", "000.00.09.H60"
SPECIALIST, HEAD, LEADER, CLERK, ADMIN = "trangdt.thtq", "tuanpm.thtq", "annv.vptq", "hoalt.vptq", "manhhd.vptq"
UNIT_NAME = "Phòng Tổng hợp"
COLUMN_6 = f"{UNIT_NAME} (THTQ); {FILED_COPY_CLERK}"
EDGE_ACTOR = "system:interconnect-edge"


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra.cli", "audit", *args, "--data-dir", str(data_dir), "--json"],
                          capture_output=True, text=True, timeout=120)


def edge_rows(data_dir: Path, agency_slug: str) -> list[dict]:
    engine = create_engine(f"sqlite:///file:{data_dir / agency_slug / 'edge.sqlite3'}?mode=ro&uri=true")
    try:
        return audit_verify.entries(engine, limit=10_000)
    finally:
        engine.dispose()


def edge_head(data_dir: Path, agency_slug: str) -> int:
    engine = create_engine(f"sqlite:///file:{data_dir / agency_slug / 'edge.sqlite3'}?mode=ro&uri=true")
    try:
        return audit_verify.head(engine)[0]
    finally:
        engine.dispose()


def waiting_issue_id(clerk, title: str) -> str | None:
    page = clerk.get("/van-ban-di/cho-ban-hanh").text
    found = re.search(rf'<a href="/van-ban/([^"]+)">[^<]*</a></td>\s*<td>{re.escape(title)}</td>', page)
    return found.group(1) if found else None


def test_drafting_unit_in_column_6_and_the_received_package_in_the_edge_chain(deployment, tmp_path):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    # What the administrator declares once on the units screen: the unit's name (code as on the accounts). The
    # gateway keeps it and pushes it to routing, which hands it to the registry with the draft.
    admin = signed_in(base, ADMIN, demo_password(deployment, ADMIN))
    try:
        form = admin.get("/quan-tri/don-vi")
        saved = admin.post("/quan-tri/don-vi", data={"csrf_token": csrf_of(form.text), "code": "thtq",
                                                     "name": UNIT_NAME})
        assert saved.status_code == 303, saved.text[:2000]
    finally:
        admin.close()
    people = {u: signed_in(base, u, demo_password(deployment, u)) for u in (SPECIALIST, HEAD, LEADER, CLERK)}
    try:
        title = f"Về việc báo cáo công tác văn thư quý IV (mã {uuid.uuid4().hex[:8]})"
        draft_id = create_draft(people[SPECIALIST], title)
        assert post(people[SPECIALIST], draft_id, "trinh").status_code == 303
        assert post(people[HEAD], draft_id, "duyet", comment="Đồng ý").status_code == 303
        signed = post(people[LEADER], draft_id, "duyet", comment="Ký ban hành")
        assert signed.status_code == 303 and "da-ky" in signed.headers["location"], signed.text[:1500]

        clerk = people[CLERK]
        doc_id = wait_for(lambda: waiting_issue_id(clerk, title), 120, "the signed draft in 'chờ ban hành'")
        before = edge_head(deployment.data_dir, "000_00_09_h60")
        form = clerk.get(f"/van-ban-di/{doc_id}/ban-hanh")
        assert form.status_code == 200, form.text[:1500]
        register_id = re.search(r'<select name="register_id"><option value="([^"]+)"', form.text).group(1)
        issued = clerk.post(f"/van-ban-di/{doc_id}/ban-hanh", data={
            "csrf_token": csrf_of(form.text), "register_id": register_id, "recipients": [SNV], "priority": "0"})
        assert issued.status_code == 303, issued.text[:2000]

        # Column 6 of the outgoing register, on the screen and in both printable files.
        today = vn_date(now_utc()).isoformat()
        period = {"so": "di", "tu": today, "den": today}
        screen = clerk.get("/in-so", params=period).text
        row = next((r for r in screen.split("<tr") if title in r), "")
        assert COLUMN_6 in row, row[:2000]
        xlsx = clerk.get("/in-so/tai-ve", params={**period, "dinh-dang": "xlsx"})
        assert xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        line = next(r for r in sheet.iter_rows(values_only=True) if any(title in str(c or "") for c in r))
        header = next(r for r in sheet.iter_rows(values_only=True) if "Đơn vị, người nhận bản lưu" in r)
        assert header.index("Đơn vị, người nhận bản lưu") == 5 and line[5] == COLUMN_6
        pdf = clerk.get("/in-so/tai-ve", params={**period, "dinh-dang": "pdf"})
        assert pdf.status_code == 200
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout
        assert UNIT_NAME in " ".join(text.decode().split())
    finally:
        for c in people.values():
            c.close()

    # The package received by Sở Nội vụ's edge: chained by the edge's system actor.
    def received() -> dict | None:
        return next((r for r in edge_rows(deployment.data_dir, "000_00_09_h60")
                     if r["seq"] > before and r["entity"] == "edge_inbox" and r["action"] == "insert"
                     and json.loads(r["details"])["values"]["sender"] == H60), None)

    row = wait_for(received, 120, "the received package in Sở Nội vụ's edge audit chain")
    assert (row["actor"], row["agency"]) == (EDGE_ACTOR, SNV)
    listed = cli("log", "--where", "000_00_09_h60/edge", "--entity", "edge_inbox", "--actor", EDGE_ACTOR,
                 data_dir=deployment.data_dir)
    assert listed.returncode == 0 and row["seq"] in [r["seq"] for r in json.loads(listed.stdout)], listed.stderr
    # The sender's edge chained its outbox row too.
    assert any(r["entity"] == "edge_outbox" and r["actor"] == EDGE_ACTOR for r in edge_rows(deployment.data_dir,
                                                                                           "000_00_00_h60"))

    # Tampering, on a consistent copy of the receiving edge's database.
    copy_dir = tmp_path / "data" / "000_00_09_h60"
    copy_dir.mkdir(parents=True)
    source = sqlite3.connect(f"file:{deployment.data_dir / '000_00_09_h60' / 'edge.sqlite3'}?mode=ro", uri=True)
    target = sqlite3.connect(copy_dir / "edge.sqlite3")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    done = cli("verify", data_dir=tmp_path / "data")
    assert done.returncode == 0 and json.loads(done.stdout)[0]["problems"] == [], done.stdout
    table = audit.make_audit_table(MetaData())
    engine = create_engine(f"sqlite:///{copy_dir / 'edge.sqlite3'}")
    try:
        tamper(engine, update(table).where(table.c.seq == row["seq"]).values(agency=H60))
    finally:
        engine.dispose()
    done = cli("verify", data_dir=tmp_path / "data")
    assert done.returncode == 1
    assert [(p["seq"], p["kind"]) for p in json.loads(done.stdout)[0]["problems"]] == [(row["seq"], "changed")]
