"""Integrity scrub on both backends, and S3 object lock refusing deletion (moto supports it)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from minio.error import S3Error

from services.common.errors import Conflict
from services.storage.blobs import LocalBlobStore
from services.storage.s3 import object_key
from services.storage.scrub import scrub


def _tamper(store, sha: str) -> None:
    """Change one byte of a stored blob behind the store's back."""
    data = bytearray(store.read(sha))
    data[len(data) // 2] ^= 0x01
    if isinstance(store, LocalBlobStore):
        path = store.path(sha)
        path.chmod(0o644)
        path.write_bytes(bytes(data))
    else:
        store.client.put_object(store.bucket, object_key(sha), io.BytesIO(bytes(data)), len(data))


def _remove(store, sha: str) -> None:
    if isinstance(store, LocalBlobStore):
        store.path(sha).unlink()
    else:
        store.client.remove_object(store.bucket, object_key(sha))  # a delete marker, as a careless operator would


def test_scrub_finds_a_changed_byte_and_a_missing_object(store):
    good, changed, lost = (store.put_bytes(os.urandom(50_000)).sha256 for _ in range(3))
    assert scrub(store, {good, changed, lost}).ok
    _tamper(store, changed)
    _remove(store, lost)
    report = scrub(store, {good, changed, lost})
    assert not report.ok
    assert [c["sha256"] for c in report.corrupt] == [changed]
    assert report.missing == [lost]
    assert report.checked == 2


def test_scrub_reports_stored_blobs_no_record_names(store):
    named = store.put_bytes(b"named").sha256
    stray = store.put_bytes(b"stray").sha256
    report = scrub(store, {named})
    assert report.ok and report.unreferenced == [stray]


def test_scrub_command_exits_non_zero_on_corruption(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path), "AGENCY_ID": "000.00.00.H60"}
    env.pop("DATABASE_URL", None)
    env.pop("S3_ENDPOINT", None)
    store = LocalBlobStore(tmp_path / "000_00_00_h60" / "blobs")
    sha = store.put_bytes(b"noi dung goc" * 100).sha256
    run = [sys.executable, "-m", "services.storage.cli", "scrub"]
    assert subprocess.run(run, env=env, capture_output=True, timeout=120).returncode == 0
    _tamper(store, sha)
    bad = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert sha in bad.stdout and "bị thay đổi" in bad.stderr


def test_s3_object_lock_refuses_deletion_until_retention_ends(locked_s3_store):
    store = locked_s3_store
    sha = store.put_bytes(b"ban goc da ky so").sha256
    assert store.lock(sha, date.today() + timedelta(days=2)) is True
    with pytest.raises(Conflict) as err:
        store.delete(sha)
    assert err.value.code == "object_locked"
    assert "không được xóa" in err.value.message_vi
    version = store.versions(sha)[0]
    with pytest.raises(S3Error) as raw:  # the server itself refuses, not only our code
        store.client.remove_object(store.bucket, object_key(sha), version_id=version)
    assert raw.value.code == "AccessDenied"
    assert store.read(sha) == b"ban goc da ky so"


def test_s3_legal_hold_refuses_deletion(locked_s3_store):
    store = locked_s3_store
    sha = store.put_bytes(b"ho so dang thanh tra").sha256
    assert store.legal_hold(sha, True) is True
    with pytest.raises(Conflict):
        store.delete(sha)
    store.legal_hold(sha, False)
    assert store.delete(sha) is True


def test_a_bucket_without_lock_reports_that_it_cannot_lock(s3_store, local_store):
    for store in (s3_store, local_store):
        sha = store.put_bytes(b"x").sha256
        assert store.lock(sha, date.today() + timedelta(days=1)) is False
