"""Upload and download throughput through the storage path (ingest -> S3BlobStore) against the raw minio SDK.

    .venv/bin/python -m bench.storage            # uses the running test stack's S3 (moto) server

Both sides talk to the same S3 server in the same run, with fresh content every time (the blob store would
otherwise skip uploading content it already has). Ours does more work by design: it sniffs the type, hashes
the stream, spools it to learn the hash before choosing the key, and checks whether the blob exists.
The local-folder backend is shown for reference.
"""

from __future__ import annotations

import io
import os
import secrets
import tempfile
import time
from pathlib import Path

from minio import Minio

from services.storage.blobs import CHUNK, LocalBlobStore
from services.storage.ingest import ingest
from services.storage.s3 import S3BlobStore
from services.storage.settings import StorageSettings

MB = 1024 * 1024
CASES = [("200 KB", 200 * 1024, 40), ("20 MB", 20 * MB, 3)]
STACK_ENV = Path("/tmp/congvan-test-stack/env")


def stack_s3() -> dict[str, str]:
    env = dict(os.environ)
    if "S3_TEST_ENDPOINT" not in env and STACK_ENV.exists():
        env.update(line.strip().split("=", 1) for line in STACK_ENV.read_text().splitlines() if "=" in line)
    return {"endpoint": env["S3_TEST_ENDPOINT"], "access_key": env["S3_TEST_ACCESS_KEY"],
            "secret_key": env["S3_TEST_SECRET_KEY"]}


def payload(size: int) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size - 9)


def drain(stream) -> int:
    n = 0
    with stream as f:
        while chunk := f.read(CHUNK):
            n += len(chunk)
    return n


def measure(label: str, size: int, count: int, upload, download) -> tuple[float, float]:
    blobs = [payload(size) for _ in range(count)]
    start = time.perf_counter()
    keys = [upload(data) for data in blobs]
    up = size * count / MB / (time.perf_counter() - start)
    start = time.perf_counter()
    for key in keys:
        assert download(key) == size
    down = size * count / MB / (time.perf_counter() - start)
    return up, down


def main() -> None:
    cfg = stack_s3()
    settings = StorageSettings(agency_id="bench", s3_endpoint=cfg["endpoint"], s3_access_key=cfg["access_key"],
                               s3_secret_key=cfg["secret_key"], s3_bucket_prefix=f"bench-{secrets.token_hex(3)}-")
    ours = S3BlobStore(settings, "bench")
    raw = Minio(cfg["endpoint"], access_key=cfg["access_key"], secret_key=cfg["secret_key"], secure=False,
                region="us-east-1")
    raw_bucket = f"bench-raw-{secrets.token_hex(3)}"
    raw.make_bucket(raw_bucket)
    local = LocalBlobStore(Path(tempfile.mkdtemp(prefix="bench-storage-")))

    def ours_up(data: bytes) -> str:
        return ingest(ours, io.BytesIO(data), "Tệp thử.pdf").sha256

    def raw_up(data: bytes) -> str:
        key = secrets.token_hex(8)
        raw.put_object(raw_bucket, key, io.BytesIO(data), len(data))
        return key

    def raw_down(key: str) -> int:
        response = raw.get_object(raw_bucket, key)
        try:
            return sum(len(c) for c in response.stream(CHUNK))
        finally:
            response.close()
            response.release_conn()

    print(f"{'case':<8} {'path':<28} {'upload MB/s':>12} {'download MB/s':>14}")
    try:
        for label, size, count in CASES:
            raw_fig = measure(label, size, count, raw_up, raw_down)
            our_fig = measure(label, size, count, ours_up, lambda sha: drain(ours.open(sha)))
            loc_fig = measure(label, size, count, lambda d: ingest(local, io.BytesIO(d), "t.pdf").sha256,
                              lambda sha: drain(local.open(sha)))
            for name, (up, down) in (("raw minio SDK (S3)", raw_fig), ("ingest + S3BlobStore", our_fig),
                                     ("ingest + LocalBlobStore", loc_fig)):
                print(f"{label:<8} {name:<28} {up:>12.1f} {down:>14.1f}")
            print(f"{label:<8} {'ratio ours/raw (S3)':<28} {our_fig[0] / raw_fig[0]:>12.2f} "
                  f"{our_fig[1] / raw_fig[1]:>14.2f}")
    finally:
        for obj in raw.list_objects(raw_bucket, recursive=True):
            raw.remove_object(raw_bucket, obj.object_name)
        raw.remove_bucket(raw_bucket)
        for sha in list(ours.iter_blobs()):
            ours.delete(sha)
        ours.client.remove_bucket(ours.bucket)


if __name__ == "__main__":
    main()
