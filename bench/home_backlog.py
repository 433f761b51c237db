"""A clerk's home page panel "Văn bản đến chờ trình" with a backlog, whole against its first ten rows.

    .venv/bin/python -m bench.home_backlog [--backlogs 10,100,500] [--repeat 20]

Routing on a fresh PostgreSQL database of the test stack, in-process: `backlog` registered incoming documents wait
to be submitted. For each backlog, the clerk's read as the home page asks it (`read_many` with `list_incoming`
box `to_submit`), its answer serialised as the RPC carries it (JSON), and the panel's rows rendered with the
gateway's own row template; once with `limit` HOME_ROWS (what the page asks and shows now) and once without (the
whole list, as the page asked and showed before; the baseline). Printed: CPU ms of each step per page, and the
ratio limited / whole.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench.platform import cpu_ms, fresh_database
from bench.rpc_client import stack_env
from gateway.web import HOME_ROWS
from services.common.actor import Actor, Role, system_actor
from services.common.db import Database
from services.common.settings import CommonSettings
from services.routing.app import Routing
from services.routing.models import Base

AGENCY = "000.00.00.H60"
CLERK = Actor(user_id="u-clerk", username="hoalt.vp", agency_id=AGENCY, roles=frozenset({Role.CLERK}),
              full_name="Lê Thị Hoa", unit="vp")


def registered(n: int) -> dict[str, Any]:
    return {"incoming_id": f"IN-{n}", "document_id": f"000.00.00.H61,2026/12/01,{n}/UBND-VX",
            "subject": f"Về việc báo cáo tình hình thực hiện nhiệm vụ số {n}", "priority": n % 3,
            "due_date": None, "registered_at": "2026-12-04T08:00:00+07:00",
            "sender": {"organ_id": "000.00.00.H61", "organ_name": "UBND huyện Yên Sơn"}, "external": True,
            "agency_id": AGENCY}


def renderer():
    from jinja2 import Environment, FileSystemLoader

    from gateway.app import HERE
    from gateway.web import template_globals

    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True)
    env.globals.update(template_globals())
    env.filters["vn_time"] = lambda value: str(value or "")
    env.filters["vn_date"] = lambda value: str(value or "")
    template = env.get_template("handling_rows.html")

    class People:
        def name(self, user_id: str | None) -> str:
            return user_id or ""

    return lambda rows: template.render(panel={"rows": rows, "kind": "handlings"}, people=People())



def measure(routing: Routing, render, limit: int | None, repeat: int) -> dict[str, float]:
    kwargs = {"box": "to_submit", **({"limit": limit} if limit is not None else {})}
    read_ms, answers = cpu_ms(lambda: routing.read_many(CLERK, [{"method": "list_incoming", "kwargs": kwargs}]),
                              repeat)
    wire_ms, wire = cpu_ms(lambda: json.loads(json.dumps(answers)), repeat)
    result = wire[0]["result"]
    rows = result["items"] if isinstance(result, dict) else result  # before: the page showed every row
    render_ms, _ = cpu_ms(lambda: render(rows), repeat)
    return {"read": read_ms, "wire": wire_ms, "render": render_ms, "bytes": len(json.dumps(answers))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlogs", default="10,100,500")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    env = stack_env()
    render = renderer()
    with fresh_database(env, True) as url:
        db = Database("routing", AGENCY, Base.metadata, CommonSettings(database_url=url, agency_id=AGENCY))
        db.create_all()
        routing = Routing(db, AGENCY)
        routing.configure(Actor(user_id="u-admin", username="admin", agency_id=AGENCY,
                                roles=frozenset({Role.ADMIN}), full_name="Quản trị", unit="vp"),
                          agency_name="UBND tỉnh Tuyên Quang")
        made = 0
        print(f"{'backlog':>8} {'page asks':>10} {'read ms':>8} {'wire ms':>8} {'render ms':>9} {'answer KB':>9}")
        for backlog in [int(b) for b in args.backlogs.split(",")]:
            while made < backlog:
                made += 1
                routing.on_incoming_registered(system_actor(AGENCY, "bench"), registered(made))
            whole = measure(routing, render, None, args.repeat)
            first = measure(routing, render, HOME_ROWS, args.repeat)
            for label, m in (("whole", whole), (f"first {HOME_ROWS}", first)):
                print(f"{backlog:>8} {label:>10} {m['read']:>8.1f} {m['wire']:>8.2f} {m['render']:>9.2f} "
                      f"{m['bytes'] / 1024:>9.1f}")
            total = lambda m: m["read"] + m["wire"] + m["render"]  # noqa: E731
            print(f"{'':>8} ratio first/whole, CPU per page: {total(first) / total(whole):.2f}")
        db.dispose()


if __name__ == "__main__":
    main()
