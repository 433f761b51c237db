"""A stand-in `registry` nameko service for the interconnect tests (run as a real agency process).

It records what the edge hands over in its own SQLite file (DATA_DIR/<agency>/fake_registry.sqlite3): every
call (to see the edge's own deduplication) and every registration, unique on (document_id, sender, recipient,
kind) as the real registry deduplicates; and it dispatches `outgoing_package` / `outgoing_status` events the
way the real registry's outbox does.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from nameko.events import EventDispatcher
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from services.common.db import agency_slug
from services.common.rpc import worker_agency


class _Store(DependencyProvider):
    """One file per agency: the acting agency of the call (an installation serves several), else the process's."""

    def setup(self) -> None:
        self.made: set[Path] = set()

    def _path(self, agency: str) -> Path:
        root = Path(self.container.config["DATA_DIR"]) / agency_slug(agency)
        path = root / "fake_registry.sqlite3"
        if path not in self.made:
            root.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(path, timeout=30, isolation_level=None) as db:
                db.execute("CREATE TABLE IF NOT EXISTS calls (method TEXT, body TEXT)")
                db.execute("CREATE TABLE IF NOT EXISTS registered (document_id TEXT, sender TEXT, kind TEXT,"
                           " body TEXT, UNIQUE (document_id, sender, kind))")
            self.made.add(path)
        return path

    def get_dependency(self, worker_ctx):
        path = self._path(worker_agency(worker_ctx) or self.container.config.get("AGENCY_ID", ""))
        return lambda: sqlite3.connect(path, timeout=30, isolation_level=None)


class FakeRegistry:
    name = "registry"
    store = _Store()
    dispatch = EventDispatcher()

    def _record(self, method: str, package: dict, kind: str, document_id: str) -> None:
        with self.store() as db:
            db.execute("INSERT INTO calls VALUES (?, ?)", (method, json.dumps(package)))
            db.execute("INSERT OR IGNORE INTO registered VALUES (?, ?, ?, ?)",
                       (document_id, package["from"]["organ_id"], kind, json.dumps(package)))

    @rpc
    def receive_package(self, package: dict) -> dict:
        kind = f"edoc:{(package.get('business') or {}).get('doc_type', 0)}"
        self._record("receive_package", package, kind, package["document_id"])
        return {"status": "waiting"}

    @rpc
    def record_status(self, status: dict) -> dict:
        kind = f"status:{status['status_code']}:{status.get('timestamp')}"
        self._record("record_status", status, kind, status["response_for"]["document_id"])
        return {"ok": True}

    @rpc
    def send_package(self, package: dict) -> None:
        self.dispatch("outgoing_package", package)

    @rpc
    def send_status(self, status: dict) -> None:
        self.dispatch("outgoing_status", status)

    @rpc
    def slow(self, seconds: float) -> str:
        """Keeps a worker busy, so that its reply is in flight when a test restarts the broker."""
        with self.store() as db:
            db.execute("INSERT INTO calls VALUES ('slow', ?)", (str(seconds),))
        time.sleep(seconds)  # green: the agency process is eventlet-patched
        return "done"

    @rpc
    def registered(self) -> list[dict]:
        with self.store() as db:
            return [{"document_id": d, "sender": s, "kind": k, "package": json.loads(b)}
                    for d, s, k, b in db.execute("SELECT document_id, sender, kind, body FROM registered")]

    @rpc
    def calls(self, method: str, document_id: str | None = None) -> int:
        """How many times `method` was called (about `document_id` only, if given: tests share one network)."""
        with self.store() as db:
            if document_id is None:
                return db.execute("SELECT count(*) FROM calls WHERE method = ?", (method,)).fetchone()[0]
            return db.execute("SELECT count(*) FROM calls WHERE method = ? AND json_extract(body, '$.document_id')"
                              " = ?", (method, document_id)).fetchone()[0]
