"""The recipients' picker of "Gửi văn bản" and "Ban hành" at a province's scale: the CPU the gateway spends listing
the deliverable agencies of a directory of N agencies (every render of those two screens), offering the agency's
recipient groups, expanding groups into recipients when sending, and the size of the picker's HTML.

    PYTHONPATH=. .venv/bin/python -m bench.recipient_picker [--counts 1000 3000 10000] [--groups 5] [--members 100]

Embedded SQLite in a temporary folder (the gateway's directory copy); CPU seconds of this process, best of 3.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from collections.abc import Callable

from gateway import documents
from gateway import recipient_groups as rg
from gateway.app import Viewer, create_app
from gateway.settings import GatewaySettings

AGENCY = "000.00.00.H60"


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


def measure(count: int, groups: int, members: int) -> str:
    app = create_app(GatewaySettings(data_dir=tempfile.mkdtemp(prefix="bench-picker-"), agencies_file=None))
    g = app.state.gateway
    ids = [organ(n) for n in range(1, count + 1)]
    g.directory().import_records({"organ_id": o, "name": f"Cơ quan thử nghiệm {o}", "hub": "H60"} for o in ids)
    g.accounts.create_user(username="quantri.bench", full_name="Quản trị", agency_id=AGENCY,
                           roles=["admin", "clerk"], password="Mat-khau-bench-2026!", unit="vp",
                           must_change_password=False)
    v = Viewer(g.accounts.by_username("quantri.bench"), None)
    made = [rg.create(g, v, f"Nhóm {k}", ids[k * members:(k + 1) * members]).id for k in range(groups)]
    listing, offered = best(lambda: documents._recipients(g, v))
    offering, shown = best(lambda: rg.picker_groups(g, v, offered))
    expanding, expansion = best(lambda: rg.expand(g, v, [], made))
    picker = g.templates.env.from_string('{% from "_fields.html" import recipient_picker %}'
                                         '{{ recipient_picker("Nơi nhận", recipients, groups=groups) }}')
    html = picker.render(recipients=offered, groups=shown)
    return (f"| {count:,} | {listing * 1000:.0f} ms | {offering * 1000:.1f} ms | {len(expansion.organ_ids):,} "
            f"in {expanding * 1000:.0f} ms | {len(html) // 1024} KB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--members", type=int, default=100)
    args = parser.parse_args()
    print("| agencies | list the deliverable ones | offer the groups | expand the groups (members) | picker HTML |")
    print("|---|---|---|---|---|")
    for count in args.counts:
        print(measure(count, args.groups, args.members), flush=True)


if __name__ == "__main__":
    main()
