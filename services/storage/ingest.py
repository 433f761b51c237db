"""Streaming upload validation, used in-process by the gateway and anything else that accepts files from people.

    result = ingest(blob_store(), request_stream, "Công văn số 12 – Sở Nội vụ.pdf", purpose="to_sign")
    # -> IngestResult(sha256, size, content_type, display_name, stored_name="CongVanSo12SoNoiVu.pdf")

The stream is read once, in chunks: the first 8 KiB decide the content class (magic bytes) before anything is
stored, the size is counted as bytes pass, and the blob store hashes and stores them. Office files that are ZIP
containers (docx, xlsx, odt, ods) are spooled to a temporary file first, because telling a docx from any ZIP and
bounding its expansion needs the archive's central directory, at its end. Nothing is stored when a rule refuses.
Refusals raise ValidationFailed with a Vietnamese message that says why.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from typing import BinaryIO

from services.common.errors import ValidationFailed
from services.storage import domain
from services.storage.blobs import CHUNK, BlobStore
from services.storage.settings import StorageSettings, get_storage_settings

PURPOSES = frozenset({"attachment", "to_sign"})


@dataclass(frozen=True)
class IngestResult:
    sha256: str
    size: int
    content_type: str
    display_name: str
    stored_name: str

    def to_dict(self) -> dict:
        return asdict(self)


def limits_from(settings: StorageSettings | None = None) -> domain.UploadLimits:
    s = settings or get_storage_settings()
    return domain.UploadLimits(max_size=s.max_upload_bytes, allowed_extensions=s.allowed_extensions,
                               archive_max_expanded=s.archive_max_expanded_mb * 1024 * 1024,
                               archive_max_ratio=s.archive_max_ratio, archive_max_entries=s.archive_max_entries)


class _CountingReader:
    """The already-read head, then the rest of the stream; refuses once more than max_size bytes went by."""

    def __init__(self, head: bytes, stream: BinaryIO, display_name: str, max_size: int) -> None:
        self._head = head
        self._stream = stream
        self._name = display_name
        self._max = max_size
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        if self._head:
            data, self._head = self._head, b""
        else:
            data = self._stream.read(CHUNK if size is None or size < 0 else size)
        self.size += len(data)
        if self.size > self._max:
            raise domain.too_large(self._name, self._max)
        return data


def _read_head(stream: BinaryIO) -> bytes:
    parts, got = [], 0
    while got < domain.SNIFF_BYTES:
        chunk = stream.read(domain.SNIFF_BYTES - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _zip_content(display_name: str, spool: BinaryIO, size: int, limits: domain.UploadLimits) -> str:
    """Which office container a spooled ZIP is, after bounding its expansion."""
    try:
        with zipfile.ZipFile(spool) as archive:
            infos = archive.infolist()
            domain.check_archive(display_name, [(i.filename, i.compress_size, i.file_size) for i in infos], size,
                                 limits)
            mimetype = None
            if "mimetype" in archive.namelist():
                with archive.open("mimetype") as f:
                    mimetype = f.read(200)
            return domain.classify_zip((i.filename for i in infos), mimetype)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise ValidationFailed(f"Tệp '{display_name}' bị hỏng (không đọc được cấu trúc nén).", code="corrupt",
                               name=display_name, reason=str(exc)) from None


def ingest(store: BlobStore, stream: BinaryIO, display_name: str, *, purpose: str = "attachment",
           max_size: int | None = None, limits: domain.UploadLimits | None = None) -> IngestResult:
    """Validate an upload while streaming it into the blob store. Raises ValidationFailed saying why not."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    limits = limits or limits_from()
    max_size = limits.max_size if max_size is None else max_size
    display = domain.clean_display_name(display_name)
    fmt = domain.expected_format(display, limits, purpose)
    head = _read_head(stream)
    content = domain.sniff(head)
    reader = _CountingReader(head, stream, display, max_size)

    if content == "zip" and fmt.content in domain.ZIP_CONTAINERS:
        with tempfile.TemporaryFile(prefix="congvan-ingest-") as spool:
            shutil.copyfileobj(reader, spool, CHUNK)  # type: ignore[misc]
            spool.seek(0)
            content = _zip_content(display, spool, reader.size, limits)
            domain.check_content(display, fmt, content)
            spool.seek(0)
            info = store.put(spool)
    else:
        domain.check_content(display, fmt, content)
        info = store.put(reader)  # type: ignore[arg-type]
    return IngestResult(sha256=info.sha256, size=info.size, content_type=fmt.content_type, display_name=display,
                        stored_name=domain.stored_name(display))
