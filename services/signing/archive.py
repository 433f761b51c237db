"""The archive time stamp chain of the PDFs an agency issued (`congvan archive refresh`, docs/signing.md).

Every PDF issued with B-LTA is recorded with the expiry of its last time stamp's certificate. `refresh` re-stamps
those whose stamp expires within the window (a year by default): the revocation data available now goes into the
DSS and a new document time stamp covers it (ltv.refresh), as a new blob; `current` follows the chain, so the
archive keeps the issued file and serves the latest one. Run it daily or monthly from cron; it does nothing for
documents whose stamp is far from expiry, and a document that cannot be refreshed (TSA down, revocation data
missing) is reported and tried again on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select

from services.common import clock
from services.common.db import Database
from services.signing import ltv
from services.signing.models import ArchiveVersion
from services.signing.verify import TrustStore
from services.storage.blobs import BlobStore

log = logging.getLogger(__name__)


def record(db: Database, pdfs: Iterable[bytes], result: dict) -> None:
    """Remember the issued PDFs (the main one and the appendices) with the expiry of their time stamp."""
    shas = [result["sha256"], *result.get("appendices", [])]
    with db.session() as s:
        for sha, pdf in zip(shas, pdfs, strict=True):
            expiry = ltv.last_timestamp_expiry(pdf)
            if expiry is not None and s.get(ArchiveVersion, sha) is None:
                s.add(ArchiveVersion(issued_sha256=sha, current_sha256=sha, timestamp_expires=expiry))


def current(db: Database, issued_sha256: str) -> str:
    """The latest archive-stamped version of an issued PDF (itself if never refreshed or not recorded)."""
    with db.session() as s:
        row = s.get(ArchiveVersion, issued_sha256)
        return row.current_sha256 if row else issued_sha256


def refresh(db: Database, blobs: BlobStore, store: TrustStore, timestamper, *,
            within: timedelta = ltv.DEFAULT_REFRESH_WITHIN, now: datetime | None = None) -> dict:
    """Re-stamp every recorded PDF whose last time stamp's certificate expires within `within` of `now`."""
    now = now or clock.now_utc()
    done, failed = [], []
    with db.session() as s:
        due = [(r.issued_sha256, r.current_sha256) for r in s.scalars(
            select(ArchiveVersion).where(ArchiveVersion.timestamp_expires <= now + within))]
    for issued, latest in due:
        try:
            pdf = ltv.refresh(blobs.read(latest), store, timestamper, moment=now)
        except Exception as exc:  # one document's failure must not stop the others; the next run retries it
            log.warning("archive refresh of %s failed: %s", issued, exc)
            failed.append({"sha256": issued, "error": str(exc)})
            continue
        sha = blobs.put_bytes(pdf).sha256
        with db.session() as s:
            row = s.get(ArchiveVersion, issued)
            row.current_sha256, row.refreshed_at = sha, now
            row.timestamp_expires = ltv.last_timestamp_expiry(pdf) or row.timestamp_expires
            row.refreshes += 1
        done.append({"sha256": issued, "current": sha})
    return {"refreshed": done, "failed": failed}
