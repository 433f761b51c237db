"""`unit_progress` (the leader's "Theo dõi tiến độ các đơn vị" and "Văn bản quá hạn" on the home page) over an agency's
years of handled documents.

    .venv/bin/python -m bench.unit_progress [--sizes 1000,5000,20000] [--open-share 0.1]

Routing in-process on a fresh PostgreSQL database of the test stack: `size` incoming documents given to four units,
`--open-share` of them still open (the rest done), inserted as routing's rows. CPU ms per call for the leader (with
the answer's JSON, as the RPC sends it), the answer's size, the same for the home page's read
(`gateway.web.HOME_PROGRESS`: counts and each unit's first overdue items), and, as the baseline of the same run,
one SQL count of the same assignments by unit and state (what the counts alone cost the database); printed as ratios.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bench.platform import cpu_ms, fresh_database
from bench.rpc_client import stack_env
from gateway.web import HOME_PROGRESS
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.settings import CommonSettings
from services.routing.app import Routing
from services.routing.models import Assignment, Base, Handling

AGENCY = "000.00.00.H60"
ADMIN = Actor(user_id="u-admin", username="admin", agency_id=AGENCY, roles=frozenset({Role.ADMIN}),
              full_name="Quản trị", unit="VP")
LEADER = Actor(user_id="u-leader", username="anld", agency_id=AGENCY, roles=frozenset({Role.LEADER}),
               full_name="Nguyễn Văn An", unit=None)
UNITS = ("KT", "TH", "VP", "NV")


def add_documents(db: Database, start: int, stop: int, open_every: int) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        for i in range(start, stop):
            handling = Handling(incoming_id=f"IN-{i}", subject=f"Văn bản đến số {i}",
                                status="in_progress" if i % open_every == 0 else "done",
                                registered_at=now - timedelta(days=i % 300), deadline=now + timedelta(days=i % 20 - 10),
                                created_at=now, updated_at=now)
            s.add(handling)
            s.flush()
            s.add(Assignment(handling_id=handling.id, kind="main", unit=UNITS[i % len(UNITS)], assigned_by="u-leader",
                             active=True, created_at=now))



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--open-share", type=float, default=0.1)
    args = parser.parse_args()
    open_every = max(1, round(1 / args.open_share))
    with fresh_database(stack_env(), True) as url:
        db = Database("routing", AGENCY, Base.metadata, CommonSettings(database_url=url, agency_id=AGENCY))
        db.create_all()
        routing = Routing(db, AGENCY)
        routing.configure(ADMIN, agency_name="UBND tỉnh Tuyên Quang")

        def counted() -> list:
            with db.session() as s:
                return list(s.execute(select(Assignment.unit, Handling.status, func.count()).join(
                    Handling, Assignment.handling_id == Handling.id).where(Assignment.active)
                    .group_by(Assignment.unit, Handling.status)))

        made = 0
        print(f"{'documents':>9} {'open':>6} {'CPU ms':>8} {'answer KB':>9} {'home ms':>8} {'home KB':>8} "
              f"{'count ms':>8} {'ratio':>6} {'home ratio':>10}")
        for size in [int(x) for x in args.sizes.split(",")]:
            add_documents(db, made, size, open_every)
            made = size
            ms, answer = cpu_ms(lambda: json.dumps(routing.unit_progress(LEADER)))
            # the home page's read: counts and overdue items only
            home_ms, home = cpu_ms(lambda: json.dumps(routing.unit_progress(LEADER, **HOME_PROGRESS)))
            floor, _ = cpu_ms(counted)
            opened = sum(len(u["open_items"]) for u in json.loads(answer))
            print(f"{size:>9} {opened:>6} {ms:>8.1f} {len(answer) / 1024:>9.0f} {home_ms:>8.1f} "
                  f"{len(home) / 1024:>8.0f} {floor:>8.1f} {ms / floor:>6.1f} {home_ms / floor:>10.1f}")
        db.dispose()


if __name__ == "__main__":
    main()
