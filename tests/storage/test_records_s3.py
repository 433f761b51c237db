"""Retention set through the storage records also locks the objects on S3 (object lock), so the server refuses
a deletion even if a caller bypassed the service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common.clock import now_utc, vn_date
from services.common.db import Database
from services.common.errors import Conflict
from services.common.settings import CommonSettings
from services.storage import records
from services.storage.models import Base


@pytest.fixture
def db(tmp_path):
    database = Database("storage", "000.00.00.H60", Base.metadata, CommonSettings(data_dir=tmp_path))
    database.create_all()
    try:
        yield database
    finally:
        database.dispose()


def test_set_retention_locks_the_s3_object(db, locked_s3_store):
    store = locked_s3_store
    info = store.put_bytes(b"%PDF-1.4 signed original")
    with db.session() as s:
        f = records.record(s, store, sha256=info.sha256, display_name="Quyết định số 5.pdf",
                           content_type="application/pdf", size=info.size, kind="signed_original",
                           owner_ref="document:5", user_id="u-clerk")
        records.set_retention(s, store, [f], vn_date(now_utc()) + timedelta(days=3))
        file_id = f.id
    with pytest.raises(Conflict) as err:  # the object store refuses on its own
        store.delete(info.sha256)
    assert err.value.code == "object_locked"
    with db.session() as s:  # and the service refuses before reaching it
        with pytest.raises(Conflict) as err:
            records.delete(s, store, records.get(s, file_id), "u-admin")
        assert err.value.code == "retained"
    assert store.read(info.sha256) == b"%PDF-1.4 signed original"
