"""Search of registry documents: attribute filters plus full text of subject and file contents.

Text is folded before indexing and before querying (lower case, no diacritics, đ → d), so "quyet dinh" finds
"quyết định" on both engines. Full text lives in `search_text` (one row per document); on SQLite an FTS5 table
`search_fts` mirrors it (the embedded default), on PostgreSQL a stored column body_tsv = to_tsvector('simple', body)
with a GIN index.
Results are filtered to what the actor may see (domain.can_view), in SQL first and re-checked in Python.

Contents: `pdftotext` (poppler) for PDFs with a text layer; scans without text go through ocrmypdf with
Tesseract's Vietnamese data, then pdftotext.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    and_,
    bindparam,
    cast,
    column,
    event,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.common import clock
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.errors import Forbidden, ValidationFailed
from services.common.textfold import terms
from services.registry import domain
from services.registry.models import Attachment, Base, Document

log = logging.getLogger(__name__)

Fetch = Callable[[str], bytes]      # sha256 -> bytes (the agency's blob store)
MIN_TEXT_CHARS = 20                 # a PDF with less text than this is treated as a scan
PAGE_SIZE_MAX = 200
# Common words match a large share of the corpus: ranking and counting every match grew linearly with it (seconds
# at 1M documents). A text query ranks at most RANK_CAP matches (the most recently indexed on SQLite), and totals
# are exact up to COUNT_CAP, then reported as "more than" (total_capped): people narrow with filters instead.
RANK_CAP = 1000
COUNT_CAP = 1000


class SearchText(Base):
    __tablename__ = "search_text"
    document_pk: Mapped[str] = mapped_column(ForeignKey("document.id"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")           # folded metadata + contents
    file_text: Mapped[str] = mapped_column(Text, default="")      # extracted contents, as extracted
    ocr: Mapped[bool] = mapped_column(default=False)
    indexed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The engine-specific index is created with the table (create_all), on each engine only.
event.listen(SearchText.__table__, "after_create", DDL(
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(document_pk UNINDEXED, body, "
    "tokenize = 'unicode61 remove_diacritics 2')").execute_if(dialect="sqlite"))
# PostgreSQL: a stored tsvector (computed once when the row is written) with its GIN index. Matching and ranking
# then read it instead of parsing the body again for every candidate row (to_tsvector per row cost ~1 s for
# 1,000 common-word matches). On the metadata, not the table: create_all runs it at every service start, so a
# database made before the column existed gets it (IF NOT EXISTS makes it idempotent).
event.listen(Base.metadata, "after_create", DDL(
    "DO $$ BEGIN IF to_regclass('search_text') IS NOT NULL THEN "
    "ALTER TABLE search_text ADD COLUMN IF NOT EXISTS body_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED; "
    "CREATE INDEX IF NOT EXISTS ix_search_text_tsv ON search_text USING gin (body_tsv); "
    "DROP INDEX IF EXISTS ix_search_text_fts; END IF; END $$").execute_if(dialect="postgresql"))

_fts = table("search_fts", column("document_pk"), column("body"), column("rank"))

# Filters on issue dates and the default order (newest first) walk this index instead of sorting the agency's
# documents. Declared here because search is what needs it; it lives on the registry's own table and metadata.
Index("ix_document_issued", Document.agency_id, Document.issued_date)


# --- pure: query building (folding: services/common/textfold.py) ---------------------------------------------------

def fts5_match(words: list[str]) -> str:
    """Every word must occur: FTS5 string with each word quoted (no operator injection)."""
    return " ".join(f'"{w}"' for w in words)


def term_scores(counts: list[list[int]], sizes: list[int], k1: float = 1.2, b: float = 0.75) -> list[float]:
    """BM25's term-frequency part (saturation, length normalised against the mean of these rows), without the
    inverse document frequency: every row here holds every query word, so what tells them apart is how often
    and in how long a text. Higher is better."""
    mean = (sum(sizes) / len(sizes)) if sizes else 1.0
    return [sum(tf * (k1 + 1) / (tf + k1 * (1 - b + b * size / (mean or 1.0))) for tf in row if tf)
            for row, size in zip(counts, sizes, strict=True)]


def metadata_text(doc: Document) -> str:
    return " ".join(str(p) for p in (
        doc.type_name, doc.code_number, doc.code_notation, doc.subject, doc.organ_name, doc.sender_organ_name,
        doc.signer_full_name, doc.signer_position, doc.description, doc.content) if p)


# --- contents: text layer, else OCR ------------------------------------------------------------------------

# Scratch files are named so that the ones left behind can be found: a process killed mid-extraction (kill -9, OOM)
# never runs its cleanup, and each scan's copy would stay in the temporary folder for good.
SCRATCH_PREFIXES = ("congvan-ocr-", "congvan-text-")
# Older than any extraction can last (ocrmypdf's timeout below is 600 s): nobody is using it any more.
SCRATCH_ORPHAN_AFTER = 3600.0
_last_sweep = 0.0


def sweep_scratch(folder: str, now: float) -> list[str]:
    """Remove the scratch files and folders that extractions of killed processes left in `folder`."""
    removed = []
    for entry in os.scandir(folder):
        if not entry.name.startswith(SCRATCH_PREFIXES):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < SCRATCH_ORPHAN_AFTER:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:  # another process swept it first, or it is not ours to remove
            continue
        removed.append(entry.name)
    if removed:
        log.warning("removed %d scratch files of interrupted text extractions from %s: %s", len(removed), folder,
                    ", ".join(sorted(removed)[:10]))
    return removed


def _sweep_now_and_then() -> None:
    global _last_sweep
    now = time.time()
    if now - _last_sweep >= SCRATCH_ORPHAN_AFTER:
        _last_sweep = now
        sweep_scratch(tempfile.gettempdir(), now)


def pdf_text(data: bytes) -> str:
    _sweep_now_and_then()
    with tempfile.NamedTemporaryFile(prefix="congvan-text-", suffix=".pdf") as tmp:
        tmp.write(data)
        tmp.flush()
        run = subprocess.run(["pdftotext", "-enc", "UTF-8", tmp.name, "-"], capture_output=True, timeout=120,
                             check=False)
    return run.stdout.decode("utf-8", "replace") if run.returncode == 0 else ""


def ocr_pdf(data: bytes, language: str = "vie") -> bytes:
    """A PDF with an OCR text layer added (ocrmypdf + Tesseract 'vie'); the page images are kept as they are."""
    with tempfile.TemporaryDirectory(prefix="congvan-ocr-") as tmp:
        src, out = os.path.join(tmp, "in.pdf"), os.path.join(tmp, "out.pdf")
        with open(src, "wb") as f:
            f.write(data)
        # A child process: ocrmypdf uses worker pools and must not share an eventlet-patched interpreter.
        run = subprocess.run([sys.executable, "-m", "ocrmypdf", "-l", language, "--skip-text", "--output-type",
                              "pdf", "--jobs", "1", "--quiet", src, out], capture_output=True, timeout=600,
                             check=False)
        if run.returncode != 0:
            log.warning("OCR failed (%s): %s", run.returncode, run.stderr.decode(errors="replace")[-500:])
            return b""
        with open(out, "rb") as f:
            return f.read()


def extract_text(data: bytes, ocr: bool = True) -> tuple[str, bool]:
    """(text, whether OCR was used)."""
    found = pdf_text(data)
    if len(found.strip()) >= MIN_TEXT_CHARS or not ocr:
        return found, False
    layered = ocr_pdf(data)
    return (pdf_text(layered), True) if layered else (found, False)


# --- indexing ------------------------------------------------------------------------------------------------

def index_document(db: Database, document_pk: str, fetch: Fetch | None = None, ocr: bool = True) -> bool:
    """(Re)index one document: metadata, and the text of its PDF files when `fetch` can read them."""
    with db.session() as session:  # the document and its PDFs in one statement (a row per PDF, or one without)
        rows = session.execute(select(Document, Attachment.sha256).outerjoin(Attachment, and_(
            Attachment.document_pk == Document.id, Attachment.content_type == "application/pdf"))
            .where(Document.id == document_pk)).all()
    if not rows:
        return False
    # Indexed as read now, and marked with this reading's updated_at: a change made during the extraction leaves
    # the row older than its document, and the next pass (index_pending) indexes it again.
    doc, pdfs = rows[0][0], [sha256 for _, sha256 in rows if sha256 is not None]
    # Extraction (pdftotext, OCR) runs with no transaction open: on SQLite a session holds the write lock, and
    # under eventlet a writer waiting on that lock blocks the whole agency process for the busy timeout.
    contents, used_ocr = [], False
    for sha256 in pdfs if fetch is not None else []:
        try:
            found, was_ocr = extract_text(fetch(sha256), ocr)
        except Exception:  # a missing or unreadable blob leaves the metadata searchable
            log.warning("cannot read %s of %s for the index", sha256, document_pk, exc_info=True)
            continue
        contents.append(found)
        used_ocr = used_ocr or was_ocr
    with db.session() as session:
        _write(session, doc, "\n".join(contents), used_ocr)
    return True


def index_metadata_only(session: Session, doc: Document, file_text: str = "") -> None:
    """Index one document inside the caller's transaction (metadata and a text already extracted)."""
    _write(session, doc, file_text, False)


def index_new_batch(session: Session, batch: list[tuple[Document, str]]) -> None:
    """Bulk load of documents never indexed before (imports, the benchmark), in the caller's transaction:
    (document, extracted text) pairs, the same folding and tables as index_document, in a few statements."""
    if not batch:
        return
    session.flush()
    now = clock.now_utc()
    session.execute(insert(SearchText), [
        {"document_pk": doc.id, "body": body_of(doc, file_text), "file_text": file_text, "ocr": False,
         "indexed_at": now, "source_updated_at": doc.updated_at} for doc, file_text in batch])
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("INSERT INTO search_fts (rowid, document_pk, body) SELECT rowid, document_pk, body "
                             "FROM search_text WHERE document_pk IN :pks").bindparams(bindparam("pks", expanding=True)),
                        {"pks": [doc.id for doc, _ in batch]})


def body_of(doc: Document, file_text: str) -> str:
    # Words only: both engines then tokenise the same way (PostgreSQL's parser would keep "05/qd-ubnd" whole).
    return " ".join(terms(f"{metadata_text(doc)}\n{file_text}"))


def _write(session: Session, doc: Document, file_text: str, used_ocr: bool) -> None:
    body = body_of(doc, file_text)
    values = {"document_pk": doc.id, "body": body, "file_text": file_text, "ocr": used_ocr,
              "indexed_at": clock.now_utc(), "source_updated_at": doc.updated_at}
    sqlite = session.get_bind().dialect.name == "sqlite"
    # A document indexed before has its row replaced: the INSERT itself finds it (no SELECT of the row first).
    upsert = (sqlite_insert if sqlite else pg_insert)(SearchText).values(values)
    session.execute(upsert.on_conflict_do_update(
        index_elements=[SearchText.document_pk], set_={k: upsert.excluded[k] for k in values if k != "document_pk"}))
    if sqlite:
        # The FTS row shares search_text's rowid: replacing it is a lookup by rowid, where a DELETE on the
        # UNINDEXED document_pk column scanned the whole FTS table on every write (quadratic bulk loads).
        rowid = session.execute(text("SELECT rowid FROM search_text WHERE document_pk = :pk"),
                                {"pk": doc.id}).scalar_one()
        session.execute(text("DELETE FROM search_fts WHERE rowid = :rowid"), {"rowid": rowid})
        session.execute(text("INSERT INTO search_fts (rowid, document_pk, body) VALUES (:rowid, :pk, :body)"),
                        {"rowid": rowid, "pk": doc.id, "body": body})


def index_pending(db: Database, fetch: Fetch | None = None, limit: int = 100, ocr: bool = True) -> int:
    """Index documents never indexed or changed since: called on a timer by the service."""
    with db.session() as session:
        pks = session.execute(
            select(Document.id).outerjoin(SearchText, SearchText.document_pk == Document.id)
            .where(or_(SearchText.document_pk.is_(None), SearchText.source_updated_at < Document.updated_at))
            .limit(limit)).scalars().all()
    for pk in pks:
        index_document(db, pk, fetch, ocr)
    return len(pks)


# --- querying ------------------------------------------------------------------------------------------------

FILTERS = ("text", "number", "notation", "issuer", "date_from", "date_to", "type_code", "signer", "priority",
           "state", "register_id", "direction", "handler")


def search(db: Database, actor: Actor, filters: dict[str, Any] | None = None, page: int = 1,
           size: int = 50) -> dict[str, Any]:
    """Documents of the actor's agency that the actor may see, matching every given filter.

    Text queries: the best-ranked first among at most RANK_CAP matches; otherwise newest first. `total` is exact
    up to COUNT_CAP; beyond it `total` is COUNT_CAP and `total_capped` is true."""
    if db.agency_id and actor.agency_id != db.agency_id:
        raise Forbidden("Không được truy cập dữ liệu của cơ quan khác.", user=actor.username, own=actor.agency_id,
                        asked=db.agency_id)
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    page, size = max(1, int(page or 1)), max(1, min(int(size or 50), PAGE_SIZE_MAX))
    words = terms(str(filters.get("text") or ""))
    with db.session() as session:
        if words:
            ranked = _ranked_matches(session, actor, filters, words)
            total, capped = min(len(ranked), RANK_CAP), len(ranked) > RANK_CAP
            ranked = ranked[:RANK_CAP]
            wanted = ranked[(page - 1) * size:page * size]
            found = {d.id: d for d in session.execute(select(Document).where(Document.id.in_(wanted))).scalars()}
            docs = [found[pk] for pk in wanted if pk in found]
        else:
            query = _attribute_filters(visible(select(Document), actor), filters)
            counted = _attribute_filters(visible(select(Document.id), actor), filters).limit(COUNT_CAP + 1)
            total = session.execute(select(func.count()).select_from(counted.subquery())).scalar_one()
            total, capped = min(total, COUNT_CAP), total > COUNT_CAP
            docs = session.execute(query.order_by(Document.issued_date.desc().nulls_last(), Document.id)
                                   .offset((page - 1) * size).limit(size)).scalars().all()
        from services.registry.documents import summary

        items = [summary(d) for d in docs if domain.can_view(actor, d.agency_id, d.state, d.handlers or [])]
        return {"items": items, "total": total, "total_capped": capped, "page": page, "size": size}


def _ranked_matches(session: Session, actor: Actor, filters: dict[str, Any], words: list[str]) -> list[str]:
    """Ids of at most RANK_CAP + 1 visible matches (the extra one tells that there are more), best first (ties:
    newest issued first).

    The full-text index finds the matches (FTS5, or PostgreSQL's GIN index); only the capped set is ranked."""
    candidates = _attribute_filters(visible(select(Document.id, Document.issued_date), actor), filters)
    if session.get_bind().dialect.name == "sqlite":
        # FTS5 walks its doclists newest row first and stops at the cap. Not bm25: its document frequencies are
        # counted over the whole index on every query (60 ms of 66 at 1M documents); term counts of the visited
        # rows are enough to rank rows that all hold every word.
        padded = literal_column("(' ' || search_fts.body || ' ')")
        counts = [((func.length(padded) - func.length(func.replace(padded, f" {w} ", " "))) / (len(w) + 1))
                  .label(f"tf{n}") for n, w in enumerate(words)]
        rows = session.execute(
            candidates.add_columns(func.length(_fts.c.body).label("size"), *counts)
            .join(_fts, _fts.c.document_pk == Document.id)
            .where(text("search_fts MATCH :match").bindparams(match=fts5_match(words)))
            .order_by(literal_column("search_fts.rowid").desc()).limit(RANK_CAP + 1)).all()
        scored = [(-score, row) for score, row in zip(term_scores(
            [[getattr(row, f"tf{n}") for n in range(len(words))] for row in rows], [row.size for row in rows]),
            rows, strict=True)]
    else:
        tsq = func.to_tsquery("simple", " & ".join(words))
        vector = literal_column("search_text.body_tsv")
        # No ORDER BY before the LIMIT: the GIN index (or the stored vector, row by row, for words so common that
        # the first rows already match) filters, the scan stops at the cap, and ts_rank runs on those rows only.
        rows = session.execute(
            candidates.add_columns(func.ts_rank(vector, tsq).label("score"))
            .join(SearchText, SearchText.document_pk == Document.id)
            .where(vector.op("@@")(tsq)).limit(RANK_CAP + 1)).all()
        scored = [(-row.score, row) for row in rows]
    scored.sort(key=lambda pair: (pair[0], -(pair[1].issued_date.toordinal() if pair[1].issued_date else 0),
                                  pair[1].id))
    return [row.id for _, row in scored]


def visible(query, actor: Actor):
    """Only the documents `domain.can_view` lets the actor see, as SQL: lists count and page what they show."""
    query = query.where(Document.agency_id == actor.agency_id)
    if actor.has(Role.CLERK, Role.SYSTEM, Role.ADMIN):
        return query
    # Drafts and the reception desk: only their handlers (the JSON list holds quoted user ids).
    mine = [actor.user_id] + ([actor.on_behalf_of] if actor.on_behalf_of else [])
    return query.where(or_(Document.state.in_(domain.PUBLIC_INSIDE_AGENCY),
                           *[cast(Document.handlers, String).like(f'%"{u}"%') for u in mine]))


def _attribute_filters(query, f: dict[str, Any]):
    if "number" in f:
        query = query.where(or_(Document.code_number == str(f["number"]).lstrip("0"),
                                Document.code_number == str(f["number"]), Document.number == _int(f["number"])))
    if "notation" in f:
        query = query.where(Document.code_notation.ilike(f"%{f['notation']}%"))
    if "issuer" in f:
        query = query.where(or_(Document.organ_id == f["issuer"], Document.organ_name.ilike(f"%{f['issuer']}%")))
    if "date_from" in f:
        query = query.where(Document.issued_date >= domain.parse_date(f["date_from"]))
    if "date_to" in f:
        query = query.where(Document.issued_date <= domain.parse_date(f["date_to"]))
    if "type_code" in f:
        query = query.where(Document.type_code == f["type_code"])
    if "signer" in f:
        query = query.where(Document.signer_full_name.ilike(f"%{f['signer']}%"))
    if "priority" in f:
        if _int(f["priority"]) not in range(4):  # a bad filter is the person's input: say so, do not fail
            raise ValidationFailed("Độ khẩn không hợp lệ (thường, khẩn, thượng khẩn hoặc hỏa tốc).",
                                   code="bad_filter", field="priority", value=str(f["priority"])[:20])
        query = query.where(Document.priority == int(f["priority"]))
    if "state" in f:
        query = query.where(Document.state == f["state"])
    if "register_id" in f:
        query = query.where(Document.register_id == f["register_id"])
    if "direction" in f:
        query = query.where(Document.direction == f["direction"])
    if "handler" in f:
        query = query.where(cast(Document.handlers, String).like(f'%"{f["handler"]}"%'))
    return query


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
