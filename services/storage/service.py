"""nameko service `storage`: file records, retention, deletion, scrub and statistics of each hosted agency's files.

Bytes do not travel over RPC: processes of the installation put them in the agency's blob store directly
(ingest.py, blobs.py) and then call `record_file` with the hash. Every call takes the actor from the nameko context
and works on the actor's agency's records and store only.

Gauges `congvan_storage_objects{agency}` and `congvan_storage_bytes{agency}` (the distinct blobs the live records
name, and their bytes) are set by a timer: at start for every agency, then every STORAGE_GAUGE_INTERVAL seconds
(default 60) for the agencies that wrote since, with one aggregate query each; `stats()` sets them too.
"""

from __future__ import annotations

import logging
import os
from datetime import date

from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select, text

from services.common.actor import Actor, Role
from services.common.errors import Forbidden
from services.common.rpc import ActingUser, DatabaseProvider, RpcMetrics
from services.storage import domain, records
from services.storage.models import Base, StoredFile
from services.storage.provider import AgencyBlobStore
from services.storage.scrub import STORED_BYTES, STORED_OBJECTS, scrub
from services.storage.settings import StorageSettings

log = logging.getLogger(__name__)

MANAGE_ROLES = (Role.CLERK, Role.LEADER, Role.ADMIN, Role.SYSTEM)
GAUGE_INTERVAL = float(os.environ.get("STORAGE_GAUGE_INTERVAL", "60"))


def set_gauges(agency: str, objects: int, size: int) -> None:
    STORED_OBJECTS.labels(agency).set(objects)
    STORED_BYTES.labels(agency).set(size)


def storage_settings_from_config(config: dict) -> StorageSettings:
    keys = {k.lower(): v for k, v in config.items() if isinstance(k, str)}
    return StorageSettings(**{k: v for k, v in keys.items() if k in StorageSettings.model_fields and v is not None})


class StorageService:
    name = "storage"

    actor = ActingUser()
    metrics = RpcMetrics()
    db = DatabaseProvider("storage", Base.metadata)
    store = AgencyBlobStore(storage_settings_from_config)   # the acting user's agency's store

    def _actor(self, *roles: str) -> Actor:
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        if roles:
            actor.require(*roles)
        return actor

    @rpc
    def record_file(self, sha256: str, display_name: str, content_type: str, size: int, kind: str,
                    owner_ref: str, replaces: int | None = None) -> dict:
        actor = self._actor()
        return records.record_file(self.db, self.store, sha256=sha256, display_name=display_name,
                                   content_type=content_type, size=size, kind=kind, owner_ref=owner_ref,
                                   user_id=actor.user_id, replaces=replaces)

    @rpc
    def get_file(self, file_id: int) -> dict:
        self._actor()
        with self.db.session() as s:
            return records.file_dict(records.get(s, file_id))

    @rpc
    def list_files(self, owner_ref: str, include_deleted: bool = False) -> list[dict]:
        self._actor()
        with self.db.session() as s:
            q = select(StoredFile).where(StoredFile.owner_ref == owner_ref).order_by(StoredFile.id)
            if not include_deleted:
                q = q.where(StoredFile.deleted_at.is_(None))
            return [records.file_dict(f) for f in s.scalars(q)]

    @rpc
    def set_retention(self, file_id: int | None = None, sha256: str | None = None,
                      until: date | str = "permanent") -> list[dict]:
        self._actor(*MANAGE_ROLES)
        wanted = domain.parse_retention(until)
        with self.db.session() as s:
            files = records.files_for(s, file_id=file_id, sha256=sha256)
            records.set_retention(s, self.store, files, wanted)
            return [records.file_dict(f) for f in files]

    @rpc
    def set_legal_hold(self, file_id: int, on: bool = True) -> dict:
        self._actor(Role.LEADER, Role.ADMIN, Role.SYSTEM)
        with self.db.session() as s:
            f = records.get(s, file_id)
            f.legal_hold = bool(on)
            for v in f.versions:
                self.store.legal_hold(v.sha256, bool(on))
            return records.file_dict(f)

    @rpc
    def delete_file(self, file_id: int) -> dict:
        actor = self._actor()
        with self.db.session() as s:
            f = records.get(s, file_id)
            if f.created_by != actor.user_id and not actor.has(Role.CLERK, Role.ADMIN, Role.SYSTEM):
                raise Forbidden("Chỉ người tải lên, văn thư hoặc quản trị mới được xóa tệp.", file_id=file_id,
                                user=actor.username)
            removed = records.delete(s, self.store, f, actor.user_id)
            return {**records.file_dict(f), "removed_blobs": removed}

    @event_handler("registry", "content_withdrawn", requeue_on_error=True)
    def on_content_withdrawn(self, payload: dict) -> None:
        """An agreed recall (registry recall.py): the incoming document's files go, its metadata stay. A blob a
        live file record still names is kept; deleting twice is harmless (at-least-once)."""
        agency = payload["agency_id"]
        with self.db.for_agency(agency).session() as s:
            removed = records.withdraw_blobs(s, self.store.for_agency(agency), list(payload.get("sha256s") or []))
        log.info("recalled document %s: %d of %d blobs deleted", payload.get("incoming_id"), len(removed),
                 len(payload.get("sha256s") or []))

    @rpc
    def scrub(self) -> dict:
        self._actor(Role.ADMIN, Role.SYSTEM)
        with self.db.session() as s:
            expected = records.live_shas(s)
        return scrub(self.store, expected, agency=self.db.agency_id).to_dict()

    @rpc
    def stats(self) -> dict:
        self._actor()
        with self.db.session() as s:
            result = records.stats(s)
        set_gauges(self.db.agency_id, result["objects"], result["bytes"])
        return result

    # eager: every agency's dashboard shows its files at once, not "no data" for the first interval. Then only
    # the agencies that wrote since the last pass are counted again: an idle agency's figures do not move.
    @timer(interval=GAUGE_INTERVAL, eager=True)
    def refresh_gauges(self) -> None:
        work = self.db.worklist("storage_gauges")
        for agency in work.take():
            try:
                with self.db.for_agency(agency).session() as s:
                    objects, size = records.blob_totals(s)
            except Exception:  # the database briefly away: keep the last values, the next tick tries again
                log.warning("storage gauges of %s not refreshed", agency, exc_info=True)
                work.again(agency)
                continue
            set_gauges(agency, objects, size)

    @rpc
    def health(self) -> dict:
        self._actor()
        with self.db.session() as s:
            db_ok = s.execute(text("SELECT 1")).scalar() == 1
        return {"database": db_ok, "store": bool(self.store.health())}
