"""Dossier, search and export RPCs in a real nameko container (the mixin the registry service takes on)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.actor import Role
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.rpc import ACTOR_KEY, ActingUser, DatabaseProvider, RpcMetrics
from services.common.settings import CommonSettings
from services.registry import operations as ops
from services.registry.dossier_service import DossierEntrypoints
from services.registry.models import Base
from services.registry.numbering import numbering_year
from services.storage.blobs import blob_store
from tests.registry.conftest import AGENCY, person
from tests.registry.test_search import text_pdf

pytestmark = pytest.mark.eventlet


class RegistryWithDossiers(DossierEntrypoints):
    name = "registry"
    actor = ActingUser()
    metrics = RpcMetrics()
    db = DatabaseProvider("registry", Base.metadata)


def test_dossier_life_cycle_search_and_export_over_rpc(fresh_vhost, tmp_path):
    config = {"AMQP_URI": fresh_vhost, "AGENCY_ID": AGENCY, "DATA_DIR": str(tmp_path), "serializer": "json"}
    settings = CommonSettings(agency_id=AGENCY, data_dir=tmp_path)
    container = ServiceContainer(RegistryWithDossiers, config)
    container.start()
    db = Database("registry", AGENCY, Base.metadata, settings)
    try:
        admin, clerk = person("quantri", Role.ADMIN), person("thuvt.vp", Role.CLERK)
        keeper = person("anhnv.vp", Role.SPECIALIST)
        ops.create_register(db, admin, "incoming", numbering_year())
        sha = blob_store(settings).put_bytes(text_pdf("Kế hoạch phòng chống dịch bệnh gia súc")).sha256
        doc = ops.register_paper_incoming(db, clerk, {"code_number": "4", "code_notation": "KH-UBND",
                                                      "subject": "Kế hoạch năm 2026", "organ_name": "UBND",
                                                      "issued_date": "2026-01-05"}, [sha])["id"]
        with ClusterRpcProxy(config, timeout=30) as proxy:
            def call(actor, method, *args, **kwargs):
                proxy._worker_ctx.data[ACTOR_KEY] = actor.to_dict()
                return getattr(proxy.registry, method)(*args, **kwargs)

            dossier = call(keeper, "open_dossier", title="Hồ sơ phòng dịch", file_notation="10.NN",
                           retention="20 năm")["id"]
            call(keeper, "add_to_dossier", dossier, doc)
            with pytest.raises(ValidationFailed, match="chưa kết thúc"):
                call(keeper, "submit_dossier", dossier)
            assert call(keeper, "close_dossier", dossier)["doc_total"] == 1
            exported = call(keeper, "export_dossier", dossier)
            assert exported["files"] == [{"href": exported["files"][0]["href"], "sha256": sha}]
            assert blob_store(settings).read(exported["blobs"]["pdf"]) == Path(exported["pdf"]).read_bytes()
            assert call(keeper, "submit_dossier", dossier)["state"] == "submitted"
            assert call(clerk, "archive_decide", dossier, True)["state"] == "archived"
            deadline = time.monotonic() + 60   # the indexer runs on a timer: wait for it, do not time it
            while not call(keeper, "search_documents", {"text": "gia suc"})["items"]:
                assert time.monotonic() < deadline, "the indexer never indexed the document"
                time.sleep(0.5)
            assert [i["id"] for i in call(keeper, "search_documents", {"text": "dich benh"})["items"]] == [doc]
            assert hashlib.sha256(Path(exported["pdf"]).read_bytes()).hexdigest() == exported["pdf_sha256"]
    finally:
        db.dispose()
        container.stop()
