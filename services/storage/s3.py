"""The blob store on S3 (MinIO in production, moto's S3 server in tests) through the `minio` SDK.

One bucket per agency (`<S3_BUCKET_PREFIX><agency slug>`), versioned, and created with object lock when
S3_OBJECT_LOCK is on. Objects are `blobs/<ab>/<sha256>`: the key is the content's hash, so an object is written
once and never overwritten; bucket versioning keeps a deleted or overwritten object recoverable by anyone but
a permanent delete of every version, and object lock (COMPLIANCE) refuses even that until retention ends.

The hash is only known after the whole stream is read, so `put` spools the stream to a temporary file
(in memory up to 1 MiB), hashing and counting on the way, then uploads it in 5 MiB parts: memory stays bounded
whatever the size. moto/minio pitfalls (notes/feasibility.md §5): retention is set after the upload, never with
lock headers on the PUT (plain HTTP gives no Content-MD5, which moto needs on such PUTs).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import BinaryIO

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, ENABLED
from minio.error import S3Error
from minio.retention import Retention
from minio.versioningconfig import VersioningConfig

from services.common.db import agency_slug
from services.common.errors import Conflict, NotFound
from services.common.settings import CommonSettings
from services.storage.blobs import CHUNK, BlobInfo, _check_hash, check_range, too_large_error
from services.storage.settings import storage_settings

log = logging.getLogger(__name__)

PART_SIZE = 5 * 1024 * 1024      # the S3 minimum part: the most an upload holds in memory at once
SPOOL_IN_MEMORY = 1024 * 1024    # smaller uploads never touch the disk
MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchVersion", "ResourceNotFound"})
MAX_LOCK_YEARS = 100             # "permanent" is locked for 100 years and re-extended by later calls

_ready_buckets: set[tuple[str, str]] = set()
_ready_lock = threading.Lock()
# Striped locks: two threads putting the same content upload it once (see put()).
_put_locks = [threading.Lock() for _ in range(64)]


def bucket_name(prefix: str, agency_id: str) -> str:
    """A valid S3 bucket name (3-63 chars, lowercase letters, digits, hyphens) for an agency."""
    name = (prefix + agency_slug(agency_id)).lower().replace("_", "-").replace(".", "-")
    name = "".join(c for c in name if c.isalnum() or c == "-").strip("-")[:63].rstrip("-")
    return name if len(name) >= 3 else f"cv-{name}"


def object_key(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{_check_hash(sha256)}"


class _ObjectStream:
    """A GET response as a binary file object; closing it returns the connection to the pool."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def read(self, size: int = -1) -> bytes:
        return self._response.read(None if size is None or size < 0 else size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._response.close()
        self._response.release_conn()

    def __enter__(self) -> _ObjectStream:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


class S3BlobStore:
    def __init__(self, settings: CommonSettings, agency_id: str, client: Minio | None = None) -> None:
        s = storage_settings(settings)
        if not s.s3_endpoint:
            raise ValueError("S3_ENDPOINT is not set")
        self.endpoint = s.s3_endpoint
        self.client = client or Minio(s.s3_endpoint, access_key=s.s3_access_key, secret_key=s.s3_secret_key,
                                      secure=s.s3_secure, region=s.s3_region)
        self.bucket = bucket_name(s.s3_bucket_prefix, agency_id)
        self.object_lock = s.s3_object_lock
        self.ensure_bucket()

    # ---------------------------------------------------------------------------------------- bucket
    def ensure_bucket(self) -> None:
        """Create the agency's bucket once per process: versioned, with object lock if configured."""
        marker = (self.endpoint, self.bucket)
        with _ready_lock:
            if marker in _ready_buckets:
                return
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket, object_lock=self.object_lock)
                except S3Error as exc:
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise
            # Object lock implies versioning; without it we still want versions so nothing is lost silently.
            if not self.object_lock:
                self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
            _ready_buckets.add(marker)

    def health(self) -> bool:
        try:
            return self.client.bucket_exists(self.bucket)
        except Exception:  # unreachable server: the health check reports it
            log.warning("S3 bucket %s is unreachable", self.bucket, exc_info=True)
            return False

    # ---------------------------------------------------------------------------------------- write
    def put(self, stream: BinaryIO, max_size: int | None = None) -> BlobInfo:
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, prefix="congvan-s3-") as spool:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise too_large_error(max_size)
                digest.update(chunk)
                spool.write(chunk)
            sha = digest.hexdigest()
            # The lock makes concurrent puts of the same content in one process upload once; across processes a
            # duplicate upload only adds an identical version under the same key.
            with _put_locks[int(sha[:4], 16) % len(_put_locks)]:
                if not self.exists(sha):
                    spool.seek(0)
                    self.client.put_object(self.bucket, object_key(sha), spool, size,
                                           metadata={"sha256": sha}, part_size=PART_SIZE, num_parallel_uploads=1)
        return BlobInfo(sha, size)

    def put_bytes(self, data: bytes) -> BlobInfo:
        import io

        return self.put(io.BytesIO(data))

    # ---------------------------------------------------------------------------------------- read
    def stat(self, sha256: str) -> BlobInfo:
        try:
            info = self.client.stat_object(self.bucket, object_key(sha256))
        except S3Error as exc:
            if exc.code in MISSING:
                raise NotFound("Không tìm thấy tệp.", sha256=sha256) from None
            raise
        return BlobInfo(sha256, int(info.size or 0))

    def exists(self, sha256: str) -> bool:
        try:
            self.stat(sha256)
            return True
        except NotFound:
            return False

    def _get(self, sha256: str, offset: int = 0, length: int = 0) -> _ObjectStream:
        try:
            return _ObjectStream(self.client.get_object(self.bucket, object_key(sha256), offset=offset,
                                                        length=length))
        except S3Error as exc:
            if exc.code in MISSING:
                raise NotFound("Không tìm thấy tệp.", sha256=sha256) from None
            raise

    def open(self, sha256: str) -> BinaryIO:
        return self._get(sha256)  # type: ignore[return-value]

    def read(self, sha256: str) -> bytes:
        with self._get(sha256) as f:
            return f.read()

    def open_range(self, sha256: str, start: int, end: int | None = None) -> BinaryIO:
        """Bytes [start, end) of a blob (end None: to the end), fetched with an HTTP range request."""
        size = self.stat(sha256).size
        end = check_range(sha256, size, start, end)
        if end == start:
            import io

            return io.BytesIO(b"")
        return self._get(sha256, offset=start, length=end - start)  # type: ignore[return-value]

    def copy_to(self, sha256: str, target: BinaryIO) -> None:
        with self._get(sha256) as f:
            for chunk in f:
                target.write(chunk)

    def iter_blobs(self) -> Iterator[str]:
        for obj in self.client.list_objects(self.bucket, prefix="blobs/", recursive=True):
            name = obj.object_name.rsplit("/", 1)[-1]
            if len(name) == 64:
                yield name

    # ---------------------------------------------------------------------------------------- delete, lock
    def versions(self, sha256: str) -> list[str]:
        """Version ids stored under a blob's key (delete markers excluded), newest first."""
        key = object_key(sha256)
        return [o.version_id for o in self.client.list_objects(self.bucket, prefix=key, include_version=True)
                if o.object_name == key and not o.is_delete_marker]

    def delete(self, sha256: str) -> bool:
        """Remove every version of a blob. S3 object lock refuses while a version is retained."""
        key = object_key(sha256)
        found = False
        for obj in list(self.client.list_objects(self.bucket, prefix=key, include_version=True)):
            if obj.object_name != key:
                continue
            found = True
            try:
                self.client.remove_object(self.bucket, key, version_id=obj.version_id)
            except S3Error as exc:
                if exc.code == "AccessDenied":
                    raise Conflict("Kho lưu trữ S3 đang khóa tệp này (thời hạn bảo quản chưa hết), không được xóa.",
                                   code="object_locked", sha256=sha256, bucket=self.bucket) from None
                raise
        return found

    def lock(self, sha256: str, until: date) -> bool:
        """Lock the current version (COMPLIANCE) until the end of `until`. False when the bucket has no lock."""
        if not self.object_lock:
            return False
        cap = date.today() + timedelta(days=365 * MAX_LOCK_YEARS)
        day = min(until, cap) + timedelta(days=1)
        retain = datetime(day.year, day.month, day.day, tzinfo=UTC)
        self.client.set_object_retention(self.bucket, object_key(sha256), Retention(COMPLIANCE, retain))
        return True

    def legal_hold(self, sha256: str, on: bool) -> bool:
        if not self.object_lock:
            return False
        key = object_key(sha256)
        if on:
            self.client.enable_object_legal_hold(self.bucket, key)
        else:
            self.client.disable_object_legal_hold(self.bucket, key)
        return True
