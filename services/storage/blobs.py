"""Content-addressed blobs: the bytes of every file, addressed by SHA-256, one namespace per agency.

This is the low-level contract other processes of the same agency use to stream bytes in and out
(the gateway's uploads, the interconnect edge's attachments). Metadata (names, uploader, retention) is the
storage service's business (services/storage/service.py); the blob layer only guarantees that the bytes
under a hash are those bytes.

    store = blob_store(settings)            # local folder by default, S3 when S3_ENDPOINT is set
    info = store.put(stream)                 # streams, hashes, stores once; -> BlobInfo(sha256, size)
    with store.open(info.sha256) as f: ...   # a binary file object
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
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
                        raise ValidationFailed("Tệp vượt quá dung lượng cho phép.", code="too_large",
                                               max_size=max_size)
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


def blob_store(settings: CommonSettings | None = None, agency_id: str | None = None) -> BlobStore:
    """The agency's blob store. S3 (services/storage/s3.py) when S3_ENDPOINT is set, else a local folder."""
    settings = settings or get_settings()
    agency = agency_id or settings.agency_id
    if settings.s3_endpoint:
        from services.storage.s3 import S3BlobStore  # imported lazily: the local default needs no minio client

        return S3BlobStore(settings, agency)
    return LocalBlobStore(Path(settings.data_dir) / agency_slug(agency) / "blobs")
