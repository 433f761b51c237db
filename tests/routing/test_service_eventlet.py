"""The routing service in real nameko containers on a fresh vhost: events in, RPCs with the actor, statuses and
draft_signed out through the outbox relay, and the signing RPC (absent, then present)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import eventlet
import pytest
from kombu import Connection, Exchange, Queue
from nameko.containers import ServiceContainer
from nameko.dependency_providers import Config
from nameko.rpc import rpc
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from services.common.db import agency_slug
from services.common.errors import Unauthenticated
from services.common.rpc import ActingUser
from services.common.rpc_client import ServiceClient
from services.routing.app import SigningUnavailable
from services.routing.service import RoutingService
from services.storage.blobs import LocalBlobStore
from tests.agency import consumed
from tests.routing.conftest import AGENCY, People, registered_event

pytestmark = [
    pytest.mark.eventlet,
    # Unpatched, in-process containers hang in socket reads: in a plain `pytest tests/routing` run, say so.
    pytest.mark.skipif(not eventlet.patcher.is_monkey_patched("socket"),
                       reason="needs eventlet patching: python -m infra.pytest_eventlet -m eventlet"),
]


class StubSigning:
    """Stands in for the signing service (built by another engineer, with its own PKI set-up)."""

    name = "signing"
    actor = ActingUser()
    config = Config()
    calls: ClassVar[list[tuple[str, str]]] = []

    @rpc
    def sign_leader(self, pdf_sha256: str, signer_user_id: str, reason: str = "", on_behalf_of: dict | None = None,
                    signer_position: str = "", operation_id: str | None = None) -> dict:
        StubSigning.calls.append((self.actor.required().user_id, signer_user_id))
        store = LocalBlobStore(Path(self.config["DATA_DIR"]) / agency_slug(AGENCY) / "blobs")
        return {"sha256": store.put_bytes(store.read(pdf_sha256) + b"\n%signed").sha256}


def test_routing_service_over_nameko(fresh_vhost, pg_url, tmp_path):
    people = People()
    config = {"AMQP_URI": fresh_vhost, "AGENCY_ID": AGENCY, "DATABASE_URL": pg_url, "DATA_DIR": str(tmp_path),
              "serializer": "json"}
    routing = ServiceContainer(RoutingService, config)
    routing.start()
    signing = None
    client = ServiceClient(fresh_vhost, size=1, timeout=30)
    try:
        with Connection(fresh_vhost) as conn:
            exchange = Exchange("routing.events", type="topic", durable=True)
            statuses = Queue("test.routing.status", exchange=exchange, routing_key="outgoing_status", durable=False)
            signed = Queue("test.routing.signed", exchange=exchange, routing_key="draft_signed", durable=False)
            for q in (statuses, signed):
                q(conn.channel()).declare()

            def call(actor, method, *args, **kwargs):
                return client.call("routing", method, actor, *args, **kwargs)

            call(people.admin, "configure", agency_name="UBND thành phố Đà Nẵng", review_chain=[
                {"key": "dept", "label": "Lãnh đạo phòng", "roles": ["department_head"], "same_unit": True},
                {"key": "leader", "label": "Lãnh đạo cơ quan", "roles": ["leader"], "signs": True}])
            call(people.admin, "sync_staff", [{"user_id": p.user_id, "full_name": p.full_name, "unit": p.unit,
                                               "roles": sorted(p.roles)} for p in people.all()])
            with pytest.raises(Unauthenticated):
                client.call("routing", "list_incoming", None)

            # the registry's event opens the handling record
            with entrypoint_waiter(routing, "on_incoming_registered"):
                event_dispatcher({"AMQP_URI": fresh_vhost, "serializer": "json"})(
                    "registry", "incoming_registered", registered_event("IN-1"))
            call(people.clerk, "submit_incoming", "IN-1", people.leader.user_id)
            call(people.leader, "direct_incoming", "IN-1", "Phòng Kinh tế xử lý",
                 {"user_id": people.spec_kt.user_id}, None, None, "2026-12-31")
            done = call(people.spec_kt, "keep_for_reference", "IN-1", "Lưu tham khảo")
            assert done["status"] == "done"
            sent = consumed(conn, statuses, 3, timeout=20)
            assert [s["status_code"] for s in sent] == ["04", "05", "06"]
            assert len({s["message_id"] for s in sent}) == 3
            assert all(s["to"] == {"organ_id": "000.00.00.H60"} for s in sent)

            # a draft up the chain; without a signing service the approval fails cleanly
            store = LocalBlobStore(tmp_path / agency_slug(AGENCY) / "blobs")
            pdf_sha = store.put_bytes(b"%PDF-1.7\n% du thao\n%%EOF\n").sha256
            draft = call(people.spec_kt, "create_draft", "Công văn trả lời", pdf_sha)
            call(people.spec_kt, "submit_draft", draft["draft_id"])
            call(people.head_kt, "approve_draft", draft["draft_id"])
            with pytest.raises(SigningUnavailable):
                call(people.leader, "approve_draft", draft["draft_id"])
            assert call(people.leader, "get_draft", draft["draft_id"])["status"] == "in_review"

            signing = ServiceContainer(StubSigning, config)
            signing.start()
            result = call(people.leader, "approve_draft", draft["draft_id"], "Đồng ý")
            assert result["status"] == "signed"
            assert StubSigning.calls == [(people.leader.user_id, people.leader.user_id)]  # actor propagated
            [event] = consumed(conn, signed, 1, timeout=20)
            assert event["draft_id"] == draft["draft_id"] and event["pdf_sha256"] == result["signed_sha256"]
            assert store.exists(event["pdf_sha256"])
    finally:
        client.close()
        if signing is not None:
            signing.stop()
        routing.stop()
