"""The installation's edge keeps no more agencies' SQLite files open than OPEN_AGENCIES (no broker: the edges are
made and used in-process, as the edge's loops make and use them on each package)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select

from services.interconnect import broker
from services.interconnect.edge_installation import HostedEdges
from services.interconnect.models import EdgeInbox
from tests.interconnect.conftest import H60_A, make_topology


def _open_files(under: Path) -> list[Path]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(under)):
            found.append(Path(target))
    return found


def test_an_edge_of_many_agencies_keeps_only_the_open_agencies_files_open(tmp_path, monkeypatch) -> None:
    """Before, an agency's edge kept the database it was made with; once `Databases` closed that file to open
    another agency's, the edge's next package opened it again, outside the bound, for good (3,016 files open for
    1,000 agencies with traffic, bench.platform --edge)."""
    data = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("OPEN_AGENCIES", "3")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    topology = make_topology("files.")
    broker.Credentials("127.0.0.1", 1, passwords={broker.services_user(topology, H60_A): "unused"}).save(tmp_path)
    edges = HostedEdges(topology, H60_A, tmp_path)
    organs = [f"000.00.{n:02d}.H60" for n in range(40, 52)]
    try:
        for _round in range(3):
            for organ in organs:
                with edges.edge(organ).db.session() as s:
                    assert s.scalar(select(func.count()).select_from(EdgeInbox)) == 0
        # Each open SQLite database holds its file (and its journal while writing): at most 3 agencies' worth.
        files = _open_files(data)
        assert len(files) <= 3 * 3 and len({f.parent for f in files}) <= 3, files
        assert len(edges._edges) <= 3
        # The agency used last is still served by the edge it was given.
        assert edges.edge(organs[-1]) is edges.edge(organs[-1])
    finally:
        edges.databases.dispose()
        edges.close()
