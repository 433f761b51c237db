"""The recipients' picker (Nơi nhận) of "Gửi văn bản", "Ban hành" and "Gửi bản sao" at a national directory's scale:
the size of each screen and the gateway's CPU to render it for a directory of N agencies, the directory search the
picker asks as the clerk types (GET /api/v1/directory/agencies), offering the agency's recipient groups and
expanding them into recipients when sending.

    PYTHONPATH=. .venv/bin/python -m bench.recipient_picker [--counts 1000 10000] [--groups 5] [--members 100]

The screens are asked over HTTP from the gateway app itself (FastAPI's TestClient, signed in as a clerk), so the
figures are the gateway's whole render: routing, the directory, the groups, the template. The installation's
answers (the document, the registers, the send policy) come from a stand-in returning fixed records: what is
measured is the gateway's work, not the services'. Embedded SQLite in a temporary folder (the gateway's directory
copy); CPU seconds of this process per render, best of 3; sizes before compression. Runs on any version of the
gateway (the search route is measured where it exists).
"""

from __future__ import annotations

import argparse
import re
import resource
import tempfile
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from gateway import recipient_groups as rg
from gateway.app import Viewer, create_app
from gateway.settings import GatewaySettings

AGENCY = "000.00.00.H60"
PASSWORD = "Mat-khau-bench-2026!"
QUERIES = ("so tai chinh", "co quan thu nghiem 000.12", "000.00.45", "H10", "uy ban nhan dan", "thu nghiem 7",
           "khong co co quan nay", "Sở Nội vụ")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def best(run: Callable[[], object], times: int = 3) -> tuple[float, object]:
    found, result = float("inf"), None
    for _ in range(times):
        start = cpu()
        result = run()
        found = min(found, cpu() - start)
    return found, result


def organ(n: int) -> str:
    return f"000.{n // 100 % 100:02d}.{n % 100:02d}.H{10 + n // 10000:02d}"


def name(n: int) -> str:
    # a few real-looking names among the made-up ones, so that a folded search finds a handful, not thousands
    return ("Sở Tài chính" if n % 97 == 0 else "Sở Nội vụ" if n % 89 == 0 else "Cơ quan thử nghiệm") + f" {n}"


DOC = {"id": "bench-doc", "direction": "outgoing", "state": "waiting_issue", "subject": "Về việc đo màn hình",
       "type_code": "CV", "type_name": "Công văn", "code_notation": "UBND-VP", "priority": 0, "attachments": [],
       "links": [], "history": [], "recipients": []}
COPY = {**DOC, "id": "bench-copy", "direction": "copies", "state": "issued", "code_number": "01",
        "code_notation": "SY-UBND"}
ANSWERS: dict[str, Any] = {
    "list_registers": [{"id": "reg", "name": "Sổ văn bản đi", "next_number": 7, "year": 2026,
                        "direction": "outgoing", "scope": "general"}],
    "get_send_policy": {"allow_unsigned_send": False},
    "list_outgoing": {"items": [], "total": 0}, "list_waiting_issue": {"items": [], "total": 0},
    "list_document_dossiers": [], "list_dossiers": {"items": [], "total": 0},
}


def stand_in(actor: Any, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """The installation's answers for the three screens; anything else is empty."""
    if method == "get_document":
        return dict(COPY if args and args[0] == COPY["id"] else DOC)
    return ANSWERS.get(method, [])


def measure(count: int, groups: int, members: int) -> list[str]:
    app = create_app(GatewaySettings(data_dir=tempfile.mkdtemp(prefix="bench-picker-"), agencies_file=None))
    g = app.state.gateway
    g.backends.call = stand_in
    ids = [organ(n) for n in range(1, count + 1)]
    g.directory().import_records({"organ_id": o, "name": name(n), "hub": "H60"} for n, o in enumerate(ids, 1))
    g.accounts.create_user(username="vanthu.bench", full_name="Văn thư", agency_id=AGENCY,
                           roles=["admin", "clerk"], password=PASSWORD, unit="vp", must_change_password=False)
    v = Viewer(g.accounts.by_username("vanthu.bench"), None)
    made = [rg.create(g, v, f"Nhóm {k}", ids[k * members:(k + 1) * members]).id for k in range(groups)]
    client = TestClient(app, base_url="http://127.0.0.1")
    signed = client.post("/dang-nhap", data={"username": "vanthu.bench", "password": PASSWORD, "next": "/"},
                         follow_redirects=False)
    assert signed.status_code == 303, signed.text[:300]
    rows = []
    for screen, path in (("Gửi văn bản", "/van-ban-di/gui"), ("Ban hành", f"/van-ban-di/{DOC['id']}/ban-hanh"),
                         ("Gửi bản sao", f"/van-ban/{COPY['id']}")):
        seconds, page = best(lambda p=path: client.get(p))
        assert page.status_code == 200, (path, page.status_code, page.text[:300])
        options = len(set(re.findall(r"\d{3}\.\d\d\.\d\d\.[A-Z]\d\d", page.text)) - {AGENCY})
        rows.append(f"| {count:,} | {screen} | {len(page.content) / 1024:,.0f} KB | {options:,} | "
                    f"{seconds * 1000:.0f} ms |")
    expanding, expansion = best(lambda: rg.expand(g, v, [], made))
    rows.append(f"| {count:,} | expand {groups} groups on sending | | {len(expansion.organ_ids):,} recipients | "
                f"{expanding * 1000:.0f} ms |")
    if client.get("/api/v1/directory/agencies", params={"q": "so"}).status_code == 200:
        rounds = 5
        start = cpu()
        found = 0
        for _ in range(rounds):
            for query in QUERIES:
                answer = client.get("/api/v1/directory/agencies", params={"q": query})
                assert answer.status_code == 200, answer.text[:300]
                found += len(answer.json())
        per_query = (cpu() - start) / (rounds * len(QUERIES))
        rows.append(f"| {count:,} | search route, per query ({len(QUERIES)} queries × {rounds}) | "
                    f"{len(answer.content)} B (last) | {found // rounds} matches per round | "
                    f"{per_query * 1000:.1f} ms |")
    client.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--members", type=int, default=100)
    args = parser.parse_args()
    print("| agencies | screen | page size | organ ids in the page | CPU per render |")
    print("|---|---|---|---|---|")
    for count in args.counts:
        for row in measure(count, args.groups, args.members):
            print(row, flush=True)


if __name__ == "__main__":
    main()
