"""`list_drafts` (the drafts panel of every leader's, head's and specialist's home page) with many drafts in review.

    .venv/bin/python -m bench.drafts_list [--drafts 200] [--repeat 10]

Routing in-process on a fresh PostgreSQL database of the test stack: one agency, `--drafts` drafts written in unit KT
and submitted, half of them moved on to the leader's signing step. CPU ms per call for people who see none of them
(a specialist of another unit), the half at their step (KT's head), the other half (the leader), and all of them
(their author). Baseline of the same run: one indexed SELECT of the drafts the caller takes part in (the least a
list of one's drafts can cost); printed as the ratio of each call to it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import sqlalchemy as sa

from bench.platform import cpu_ms, fresh_database
from bench.rpc_client import stack_env
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.settings import CommonSettings
from services.routing.app import Routing
from services.routing.models import Base, DraftParticipant
from services.storage.blobs import LocalBlobStore

AGENCY = "000.00.00.H60"


def person(user_id: str, roles: set[str], unit: str | None, name: str) -> Actor:
    return Actor(user_id=user_id, username=user_id, agency_id=AGENCY, roles=frozenset(roles), full_name=name, unit=unit)


ADMIN = person("u-admin", {Role.ADMIN}, "VP", "Quản trị hệ thống")
LEADER = person("u-leader", {Role.LEADER}, None, "Nguyễn Văn An")
HEAD_KT = person("u-head-kt", {Role.DEPARTMENT_HEAD}, "KT", "Phạm Thị Trưởng Phòng")
SPEC_KT = person("u-spec-kt", {Role.SPECIALIST}, "KT", "Hoàng Văn Chuyên")
SPEC_TH = person("u-spec-th", {Role.SPECIALIST}, "TH", "Bùi Thị Ba")
OFFICE = person("u-spec-vp", {Role.SPECIALIST}, "VP", "Ngô Văn Pháp Chế")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with fresh_database(stack_env(), True) as url, tempfile.TemporaryDirectory() as tmp:
        db = Database("routing", AGENCY, Base.metadata, CommonSettings(database_url=url, agency_id=AGENCY))
        db.create_all()
        blobs = LocalBlobStore(Path(tmp))
        routing = Routing(db, AGENCY, blobs=blobs)
        routing.configure(ADMIN, agency_name="UBND tỉnh Tuyên Quang")
        staff = [LEADER, HEAD_KT, SPEC_KT, SPEC_TH, OFFICE, ADMIN]
        routing.sync_staff(ADMIN, [{"user_id": p.user_id, "username": p.username, "full_name": p.full_name,
                                    "unit": p.unit, "roles": sorted(p.roles), "email": "", "position": ""}
                                   for p in staff])
        pdf = blobs.put_bytes(b"%PDF-1.7\n% du thao\n%%EOF\n").sha256
        for n in range(args.drafts):
            draft = routing.create_draft(SPEC_KT, f"Kế hoạch số {n}", pdf)
            routing.submit_draft(SPEC_KT, draft["draft_id"])
            if n % 2:  # past KT's head and the office, waiting for the leader's signature
                routing.approve_draft(HEAD_KT, draft["draft_id"], "Đạt")
                routing.approve_draft(OFFICE, draft["draft_id"], "Đúng thể thức")

        def baseline() -> list[int]:
            with db.session() as s:
                return list(s.scalars(sa.select(DraftParticipant.draft_id)
                                      .where(DraftParticipant.user_id == SPEC_KT.user_id)))

        floor, _ = cpu_ms(baseline, args.repeat)
        print(f"{args.drafts} drafts in review; baseline (one SELECT of one's drafts): {floor:.2f} ms")
        print(f"{'caller':>28} {'sees':>5} {'CPU ms':>8} {'× baseline':>10}")
        for label, actor in (("specialist of another unit", SPEC_TH), ("KT's head", HEAD_KT),
                             ("leader", LEADER), ("author", SPEC_KT)):
            ms, seen = cpu_ms(lambda a=actor: routing.list_drafts(a), args.repeat)
            print(f"{label:>28} {len(seen):>5} {ms:>8.1f} {ms / floor:>10.0f}")
        db.dispose()


if __name__ == "__main__":
    main()
