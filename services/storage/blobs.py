"""Content-addressed blobs: the bytes of every file, addressed by SHA-256, one namespace per agency.

This is the low-level contract other processes of the same agency use to stream bytes in and out
(the gateway's uploads, the interconnect edge's attachments). Metadata (names, uploader, retention) is the
storage service's business (services/storage/service.py); the blob layer only guarantees that the bytes
under a hash are those bytes.

    store = blob_store(settings)            # local folder by default, S3 when S3_ENDPOINT is set
    info = store.put(stream)                 # streams, hashes, stores once; -> BlobInfo(sha256, size)
    with store.open(info.sha256) as f: ...   # a binary file object
    with store.open_range(sha, 0, 65536) as f: ...   # bytes [start, end) for previews (like data[start:end])

Both backends (LocalBlobStore here, S3BlobStore in s3.py) pass the same contract tests
(tests/storage/test_blob_contract.py). Upload rules (formats, names) live in ingest.py, not here.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO, Protocol

from services.common.db import agency_slug
from services.common.errors import NotFound, ValidationFailed
from services.common.settings import CommonSettings, get_settings

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int


class BlobStore(Protocol):
    def put(self, stream: BinaryIO, max_size: int | None = None) -> BlobInfo: ...
    def put_bytes(self, data: bytes) -> BlobInfo: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def read(self, sha256: str) -> bytes: ...
    def exists(self, sha256: str) -> bool: ...
    def stat(self, sha256: str) -> BlobInfo: ...
    def open_range(self, sha256: str, start: int, end: int | None = None) -> BinaryIO: ...
    def iter_blobs(self) -> Iterator[str]: ...
    def delete(self, sha256: str) -> bool: ...
    def lock(self, sha256: str, until: date) -> bool: ...
    def legal_hold(self, sha256: str, on: bool) -> bool: ...
    def health(self) -> bool: ...


class RangeReader(io.RawIOBase):
    """At most `length` bytes of an open binary file, closing it when closed."""

    def __init__(self, raw: BinaryIO, length: int) -> None:
        super().__init__()
        self._raw = raw
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        want = min(len(buffer), self._left)
        data = self._raw.read(want)
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def check_range(sha256: str, size: int, start: int, end: int | None) -> int:
    """The end (exclusive) of a valid range [start, end) of a blob of `size` bytes; end is clipped to the size."""
    end = size if end is None else min(end, size)
    if start < 0 or (start >= size and size > 0) or end < start:
        raise ValidationFailed("Khoảng dữ liệu yêu cầu không hợp lệ.", code="bad_range", sha256=sha256,
                               start=start, end=end, size=size)
    return end


def too_large_error(max_size: int) -> ValidationFailed:
    mb = max_size / (1024 * 1024)
    return ValidationFailed(f"Tệp vượt quá {mb:g} MB.", code="too_large", max_size=max_size)


def _check_hash(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValidationFailed("Mã băm tệp không hợp lệ.", sha256=sha256)
    return sha256


class LocalBlobStore:
    """Blobs under <root>/<ab>/<cd>/<sha256>; written to a temp file and renamed, so readers never see half a file."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        _check_hash(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO, max_size: int | None = None) -> BlobInfo:
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise too_large_error(max_size)
                    digest.update(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            sha = digest.hexdigest()
            final = self.path(sha)
            if final.exists():
                os.unlink(tmp_name)  # same content is stored once
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, final)
                final.chmod(0o444)
            return BlobInfo(sha, size)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def put_bytes(self, data: bytes) -> BlobInfo:
        import io

        return self.put(io.BytesIO(data))

    def open(self, sha256: str) -> BinaryIO:
        path = self.path(sha256)
        if not path.exists():
            raise NotFound("Không tìm thấy tệp.", sha256=sha256)
        return open(path, "rb")

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def copy_to(self, sha256: str, target: BinaryIO) -> None:
        with self.open(sha256) as f:
            shutil.copyfileobj(f, target, CHUNK)

    def stat(self, sha256: str) -> BlobInfo:
        path = self.path(sha256)
        try:
            return BlobInfo(sha256, path.stat().st_size)
        except FileNotFoundError:
            raise NotFound("Không tìm thấy tệp.", sha256=sha256) from None

    def open_range(self, sha256: str, start: int, end: int | None = None) -> BinaryIO:
        """Bytes [start, end) of a blob (end None: to the end), as a binary stream."""
        size = self.stat(sha256).size
        end = check_range(sha256, size, start, end)
        f = self.open(sha256)
        f.seek(start)
        return io.BufferedReader(RangeReader(f, end - start), CHUNK)  # type: ignore[return-value]

    def iter_blobs(self) -> Iterator[str]:
        for first in sorted(self.root.iterdir()):
            if not first.is_dir() or len(first.name) != 2:
                continue
            for second in sorted(first.iterdir()):
                for blob in sorted(second.iterdir()):
                    if len(blob.name) == 64:
                        yield blob.name

    def delete(self, sha256: str) -> bool:
        """Remove a blob. The storage service decides when (retention); the folder itself cannot lock files."""
        try:
            self.path(sha256).unlink()
            return True
        except FileNotFoundError:
            return False

    def lock(self, sha256: str, until: date) -> bool:
        return False  # a plain folder has no write-once lock; the storage service enforces retention

    def legal_hold(self, sha256: str, on: bool) -> bool:
        return False

    def health(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK)


def blob_store(settings: CommonSettings | None = None, agency_id: str | None = None) -> BlobStore:
    """An agency's blob store. S3 (services/storage/s3.py) when S3_ENDPOINT is set, else a local folder.

    Services name the agency (their workers serve many); CLIs and tests may rely on AGENCY_ID."""
    settings = settings or get_settings()
    agency = agency_id or settings.agency_id
    if settings.s3_endpoint:
        from services.storage.s3 import S3BlobStore  # imported lazily: the local default needs no minio client

        return S3BlobStore(settings, agency)
    return LocalBlobStore(Path(settings.data_dir) / agency_slug(agency) / "blobs")


class BlobStores:
    """Every hosted agency's blob store in this process, made on first use (an S3 client, a folder); the
    `max_open` most recently used are kept, so an idle agency holds nothing."""

    def __init__(self, settings: CommonSettings, max_open: int = 256) -> None:
        self.settings = settings
        self.max_open = max_open
        self._stores: OrderedDict[str, BlobStore] = OrderedDict()
        self._lock = threading.Lock()

    def for_agency(self, agency_id: str) -> BlobStore:
        if not agency_id:
            raise LookupError("blob store: no agency named for this unit of work")
        with self._lock:
            store = self._stores.get(agency_id)
            if store is None:
                store = self._stores[agency_id] = blob_store(self.settings, agency_id)
                while len(self._stores) > self.max_open:
                    self._stores.popitem(last=False)
            else:
                self._stores.move_to_end(agency_id)
            return store
