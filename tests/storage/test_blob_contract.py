"""The blob contract, identical on the local folder and on S3 (moto)."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from services.common.errors import NotFound, ValidationFailed
from services.storage.s3 import S3BlobStore


def test_put_then_get_returns_the_same_bytes_under_their_sha256(store):
    data = os.urandom(300_000)
    info = store.put(io.BytesIO(data))
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    assert store.exists(info.sha256)
    assert store.read(info.sha256) == data
    with store.open(info.sha256) as f:
        assert f.read() == data
    assert store.stat(info.sha256).size == len(data)
    assert list(store.iter_blobs()) == [info.sha256]


def test_unknown_blob_is_not_found_and_bad_hash_is_refused(store):
    missing = "0" * 64
    assert not store.exists(missing)
    with pytest.raises(NotFound):
        store.open(missing)
    with pytest.raises(NotFound):
        store.stat(missing)
    with pytest.raises(ValidationFailed):
        store.exists("../../etc/passwd")


def test_range_reads_return_the_requested_slice(store):
    data = bytes(range(256)) * 1000
    sha = store.put_bytes(data).sha256
    with store.open_range(sha, 0, 10) as f:
        assert f.read() == data[:10]
    with store.open_range(sha, 1000, 70_000) as f:
        assert f.read() == data[1000:70_000]
    with store.open_range(sha, 255_990) as f:
        assert f.read() == data[255_990:]
    with store.open_range(sha, 255_990, 10**9) as f:  # an end past the size is clipped, as HTTP does
        assert f.read() == data[255_990:]
    with pytest.raises(ValidationFailed) as err:
        store.open_range(sha, len(data), len(data) + 5)
    assert err.value.code == "bad_range"


def test_same_content_is_stored_once(store):
    data = b"Cong van so 12" * 100
    first = store.put_bytes(data)
    second = store.put(io.BytesIO(data))
    assert first == second
    assert list(store.iter_blobs()) == [first.sha256]
    if isinstance(store, S3BlobStore):
        assert len(store.versions(first.sha256)) == 1  # not re-uploaded as a second version


def test_concurrent_uploads_of_the_same_content_store_it_once(store):
    data = os.urandom(2 * 1024 * 1024)
    results, errors = [], []

    def upload():
        try:
            results.append(store.put(io.BytesIO(data)))
        except Exception as exc:  # collected so the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    assert list(store.iter_blobs()) == [results[0].sha256]
    assert store.read(results[0].sha256) == data
    if isinstance(store, S3BlobStore):
        assert len(store.versions(results[0].sha256)) == 1


def test_max_size_refuses_and_stores_nothing(store):
    with pytest.raises(ValidationFailed) as err:
        store.put(io.BytesIO(b"x" * 1001), max_size=1000)
    assert err.value.code == "too_large"
    assert list(store.iter_blobs()) == []


def test_delete_removes_the_blob(store):
    sha = store.put_bytes(b"to be removed").sha256
    assert store.delete(sha) is True
    assert not store.exists(sha)
    assert store.delete(sha) is False
    assert store.put_bytes(b"to be removed").sha256 == sha  # and it can come back
    assert store.exists(sha)


def test_health_is_true_on_a_working_store(store):
    assert store.health() is True
