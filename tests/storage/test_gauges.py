"""The storage gauges (`congvan_storage_objects`, `congvan_storage_bytes`) are set by the storage service's own
timer in a real agency process: present at start (eager), following records and deletions without anyone calling
`stats`, and equal to the figures `stats` computes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from infra import procs
from services.common.actor import Actor, Role
from services.common.rpc_client import ServiceClient
from services.storage.blobs import LocalBlobStore
from tests.agency import running_agency_process

AGENCY = "000.00.00.H60"
CLERK = Actor("u-clerk", "hoalt.vp", AGENCY, frozenset({Role.CLERK}), "Lê Thị Hoa")


def gauge(port: int, name: str) -> float | None:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    match = re.search(rf'^{name}{{agency="{re.escape(AGENCY)}"}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else None


def wait_gauges(port: int, objects: int, size: int, what: str) -> None:
    procs.wait_until(lambda: (gauge(port, "congvan_storage_objects"), gauge(port, "congvan_storage_bytes"))
                     == (objects, size), 60, what)


def test_storage_gauges_are_set_by_the_timer_from_start(fresh_vhost, tmp_path):
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT", "DATABASE_URL")}
    env.update(DATA_DIR=str(data_dir), STORAGE_GAUGE_INTERVAL="1")
    with running_agency_process("services.storage.service:StorageService", fresh_vhost, tmp_path / "agency.log",
                                env, agency=AGENCY) as port:
        wait_gauges(port, 0, 0, "the gauges at 0 right after start (eager timer)")
        store = LocalBlobStore(Path(data_dir) / "000_00_00_h60" / "blobs")
        client = ServiceClient(fresh_vhost, size=1, timeout=30)
        try:
            first, second = b"%PDF-1.4 gauge one", b"%PDF-1.4 gauge two, longer"
            files = []
            for data in (first, second, first):   # the same bytes for a second owner: still one object
                info = store.put_bytes(data)
                files.append(client.call("storage", "record_file", CLERK, info.sha256, "Tệp đính kèm.pdf",
                                         "application/pdf", info.size, "attachment", f"document:g{len(files)}"))
            wait_gauges(port, 2, len(first) + len(second), "the gauges after three records of two blobs")

            client.call("storage", "delete_file", CLERK, files[1]["id"])
            wait_gauges(port, 1, len(first), "the gauges after a deletion")

            stats = client.call("storage", "stats", CLERK)
            assert (stats["objects"], stats["bytes"]) == (1, len(first))
        finally:
            client.close()
