"""Blob stores for the storage tests: a local folder in tmp_path, and S3 on the shared moto server with a
bucket of its own per test (removed afterwards unless object lock keeps it)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from minio.error import S3Error

from services.storage.blobs import LocalBlobStore
from services.storage.s3 import S3BlobStore
from services.storage.settings import StorageSettings

AGENCY = "000.00.00.H60"


def s3_settings(s3_config: dict[str, str], *, object_lock: bool = False, **more) -> StorageSettings:
    return StorageSettings(agency_id=AGENCY, s3_endpoint=s3_config["endpoint"],
                           s3_access_key=s3_config["access_key"], s3_secret_key=s3_config["secret_key"],
                           s3_bucket_prefix=f"t-{secrets.token_hex(5)}-", s3_object_lock=object_lock, **more)


def drop_bucket(store: S3BlobStore) -> None:
    client = store.client
    try:
        for obj in client.list_objects(store.bucket, recursive=True, include_version=True):
            client.remove_object(store.bucket, obj.object_name, version_id=obj.version_id)
        client.remove_bucket(store.bucket)
    except S3Error:
        pass  # a locked object keeps its bucket; moto's state is thrown away with the test stack


@pytest.fixture
def local_store(tmp_path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def s3_store(s3_config) -> Iterator[S3BlobStore]:
    store = S3BlobStore(s3_settings(s3_config), AGENCY)
    try:
        yield store
    finally:
        drop_bucket(store)


@pytest.fixture
def locked_s3_store(s3_config) -> Iterator[S3BlobStore]:
    store = S3BlobStore(s3_settings(s3_config, object_lock=True), AGENCY)
    try:
        yield store
    finally:
        drop_bucket(store)


@pytest.fixture(params=["local", "s3"])
def store(request):
    """The same contract, run on both backends."""
    return request.getfixturevalue(f"{request.param}_store")
