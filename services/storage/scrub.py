"""Integrity scrub: re-hash every blob and report any whose bytes no longer match their name, or that is missing.

    report = scrub(store, expected=shas_the_records_name)   # -> ScrubReport
    python -m services.storage.cli scrub --agency 000.00.00.H60

A blob's name is its SHA-256, so re-hashing proves the bytes are the ones stored. `expected` (the hashes the
file records name) adds the check that nothing recorded has disappeared. Results go to Prometheus.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from prometheus_client import Counter, Gauge

from services.common import clock
from services.common.errors import NotFound
from services.storage.blobs import CHUNK, BlobStore

SCRUB_CHECKED = Counter("congvan_storage_scrub_checked_total", "Blobs re-hashed by the scrub", ["agency"])
SCRUB_PROBLEMS = Counter("congvan_storage_scrub_problems_total", "Blobs found corrupt or missing by the scrub",
                         ["agency", "problem"])
SCRUB_LAST = Gauge("congvan_storage_scrub_last_run_timestamp_seconds", "When the last scrub finished", ["agency"])
SCRUB_LAST_PROBLEMS = Gauge("congvan_storage_scrub_last_problems", "Problems found by the last scrub",
                            ["agency", "problem"])
STORED_OBJECTS = Gauge("congvan_storage_objects", "Distinct blobs recorded by the storage service", ["agency"])
STORED_BYTES = Gauge("congvan_storage_bytes", "Bytes of the distinct blobs recorded", ["agency"])


@dataclass
class ScrubReport:
    checked: int = 0
    bytes: int = 0
    corrupt: list[dict] = field(default_factory=list)    # {"sha256", "actual"}: the bytes changed
    missing: list[str] = field(default_factory=list)     # recorded but not in the store
    unreferenced: list[str] = field(default_factory=list)  # stored but named by no record (not an error)
    started_at: str = ""
    finished_at: str = ""

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def rehash(store: BlobStore, sha256: str) -> tuple[str, int] | None:
    """(actual SHA-256, size) of a stored blob, streaming; None if it is missing."""
    digest = hashlib.sha256()
    size = 0
    try:
        with store.open(sha256) as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except NotFound:
        return None
    return digest.hexdigest(), size


def scrub(store: BlobStore, expected: Iterable[str] | None = None, agency: str = "") -> ScrubReport:
    report = ScrubReport(started_at=clock.now_utc().isoformat())
    present = set(store.iter_blobs())
    wanted = set(expected) if expected is not None else set()
    for sha in sorted(present | wanted):
        result = rehash(store, sha) if sha in present else None
        if result is None:
            report.missing.append(sha)
            continue
        actual, size = result
        report.checked += 1
        report.bytes += size
        if actual != sha:
            report.corrupt.append({"sha256": sha, "actual": actual, "size": size})
    if expected is not None:
        report.unreferenced = sorted(present - wanted)
    report.finished_at = clock.now_utc().isoformat()
    _record_metrics(report, agency)
    return report


def _record_metrics(report: ScrubReport, agency: str) -> None:
    SCRUB_CHECKED.labels(agency).inc(report.checked)
    for problem, items in (("corrupt", report.corrupt), ("missing", report.missing)):
        SCRUB_PROBLEMS.labels(agency, problem).inc(len(items))
        SCRUB_LAST_PROBLEMS.labels(agency, problem).set(len(items))
    SCRUB_LAST.labels(agency).set_to_current_time()
