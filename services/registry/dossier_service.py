"""RPC entrypoints for dossiers, file plans, search and export, mixed into the `registry` nameko service.

A mixin (nameko finds entrypoints on base classes) keeps these thin wrappers out of service.py, which other
areas edit; the service needs `db` (DatabaseProvider) and `actor` (ActingUser) and gets `blobs` from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

from services.registry import archive_export, document_dossiers, dossier_items, file_plans, search
from services.registry import dossiers as dz
from services.storage.provider import AgencyBlobStore

INDEX_INTERVAL = 10.0   # seconds between passes of the search indexer over new or changed documents


INDEX_BATCH = 50


class DossierEntrypoints:
    blobs = AgencyBlobStore()   # the acting user's agency's store, read by the indexer and the export
    db: Any
    actor: Any

    # --- file plan ---

    @rpc
    def create_file_plan(self, year: int, headings: list[dict], items: list[dict]) -> dict:
        return file_plans.create_file_plan(self.db, self.actor.required(), year, headings, items)

    @rpc
    def approve_file_plan(self, plan_id: str, approval_doc: str = "") -> dict:
        return file_plans.approve_file_plan(self.db, self.actor.required(), plan_id, approval_doc)

    @rpc
    def get_file_plan(self, year: int) -> dict | None:
        return file_plans.get_file_plan(self.db, self.actor.required(), year)

    # --- dossiers ---

    @rpc
    def open_dossier(self, plan_item_id: str | None = None, title: str | None = None,
                     file_notation: str | None = None, retention: Any = None, start_date: str | None = None,
                     year: int | None = None, description: str = "", construction: bool = False) -> dict:
        return dz.open_dossier(self.db, self.actor.required(), plan_item_id, title, file_notation, retention,
                               start_date, year, description, construction)

    @rpc
    def dossiers_of_document(self, document_pk: str) -> list[dict]:
        """The dossiers that hold a document (Đà Nẵng Đ5.4b item 5)."""
        return document_dossiers.dossiers_holding(self.db, self.actor.required(), document_pk)

    @rpc
    def get_dossier(self, dossier_id: str) -> dict:
        return dz.get_dossier(self.db, self.actor.required(), dossier_id)

    @rpc
    def list_dossiers(self, state: str | None = None, year: int | None = None, mine: bool = False) -> list[dict]:
        return dz.list_dossiers(self.db, self.actor.required(), state, year, mine)

    @rpc
    def update_dossier(self, dossier_id: str, changes: dict) -> dict:
        return dz.update_dossier(self.db, self.actor.required(), dossier_id, changes)

    @rpc
    def add_to_dossier(self, dossier_id: str, document_id: str) -> dict:
        return dossier_items.add_document(self.db, self.actor.required(), dossier_id, document_id)

    @rpc
    def add_item_to_dossier(self, dossier_id: str, kind: str, sha256: str, title: str, item_date: str | None = None,
                            pages: int = 0, content_type: str = "application/pdf") -> dict:
        return dossier_items.add_item(self.db, self.actor.required(), dossier_id, kind, sha256, title, item_date,
                                      pages, content_type)

    @rpc
    def check_dossier_item(self, dossier_id: str) -> None:
        """Refuses (NotFound, Forbidden, ValidationFailed) exactly when add_item_to_dossier would for this actor."""
        dossier_items.check_can_add(self.db, self.actor.required(), dossier_id)

    @rpc
    def remove_from_dossier(self, dossier_id: str, item_id: str) -> dict:
        return dossier_items.remove_item(self.db, self.actor.required(), dossier_id, item_id)

    @rpc
    def move_in_dossier(self, dossier_id: str, item_id: str, ordinal: int) -> dict:
        return dossier_items.move_item(self.db, self.actor.required(), dossier_id, item_id, ordinal)

    @rpc
    def close_dossier(self, dossier_id: str, remove_drafts: bool = False, title: str | None = None,
                      retention: Any = None, end_date: str | None = None) -> dict:
        return dz.close_dossier(self.db, self.actor.required(), dossier_id, remove_drafts, title, retention,
                                end_date)

    @rpc
    def submit_dossier(self, dossier_id: str) -> dict:
        return dz.submit_to_archive(self.db, self.actor.required(), dossier_id)

    @rpc
    def archive_decide(self, dossier_id: str, accept: bool, reason: str = "") -> dict:
        return dz.archive_decide(self.db, self.actor.required(), dossier_id, accept, reason)

    @rpc
    def dossiers_due(self) -> list[dict]:
        return dz.due_for_submission(self.db, self.actor.required())

    @rpc
    def export_dossier(self, dossier_id: str) -> dict:
        out = Path(self._export_dir()) / "exports"
        return archive_export.export_dossier(self.db, self.actor.required(), dossier_id, self.blobs.read, out,
                                             put=lambda data: self.blobs.put_bytes(data).sha256)

    def _export_dir(self) -> str:
        engine_url = str(self.db.engine.url)
        # Exports go next to the service's data: the SQLite file's folder, else the system temp folder.
        if engine_url.startswith("sqlite:///"):
            return str(Path(engine_url.removeprefix("sqlite:///")).parent)
        import tempfile

        return tempfile.gettempdir()

    # --- search ---

    @rpc
    def search_documents(self, filters: dict | None = None, page: int = 1, size: int = 50) -> dict:
        return search.search(self.db, self.actor.required(), filters, page, size)

    @timer(interval=INDEX_INTERVAL)
    def index_pending(self) -> None:
        """Index new or changed documents of the agencies that wrote since the last pass (all of them at start)."""
        work = self.db.worklist("search_index")
        for agency in work.take():
            done = search.index_pending(self.db.for_agency(agency), self.blobs.for_agency(agency).read,
                                        limit=INDEX_BATCH)
            if done >= INDEX_BATCH:
                work.again(agency)
