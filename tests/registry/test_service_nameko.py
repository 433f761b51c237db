"""The registry as a real nameko service: RPCs with an acting user, and outbox events on `registry.events`."""

from __future__ import annotations

import pytest
from kombu import Connection, Exchange, Queue
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.actor import Role, system_actor
from services.common.errors import Forbidden, ValidationFailed
from services.common.rpc import ACTOR_KEY
from services.registry.domain import ServiceUnavailable
from services.registry.service import RegistryService
from tests.registry.conftest import AGENCY, OTHER, package, person, sha
from tests.registry.signing_standin import SigningStandIn

pytestmark = pytest.mark.eventlet


def _read(conn, queue, count, timeout=20.0) -> list[tuple[str, dict]]:
    got: list[tuple[str, dict]] = []

    def on_message(body, message):
        got.append((message.delivery_info["routing_key"], body))
        message.ack()

    with conn.Consumer(queue, callbacks=[on_message], accept=["json"]):
        while len(got) < count:
            conn.drain_events(timeout=timeout)
    return got


class Caller:
    def __init__(self, proxy):
        self.proxy = proxy

    def __call__(self, actor, method, *args, **kwargs):
        self.proxy._worker_ctx.data[ACTOR_KEY] = actor.to_dict() if actor else None
        return getattr(self.proxy.registry, method)(*args, **kwargs)


@pytest.fixture
def running(fresh_vhost, tmp_path):
    config = {"AMQP_URI": fresh_vhost, "AGENCY_ID": AGENCY, "DATA_DIR": str(tmp_path), "serializer": "json"}
    containers = []

    def start(cls):
        container = ServiceContainer(cls, config)
        container.start()
        containers.append(container)
        return container

    start(RegistryService)
    try:
        with ClusterRpcProxy(config, timeout=30) as proxy:
            yield Caller(proxy), start, fresh_vhost
    finally:
        for container in containers:
            container.stop()


def test_rpcs_and_outbox_events_through_nameko(running):
    call, start, amqp_uri = running
    admin, clerk, edge = person("quantri", Role.ADMIN), person("thuvt.vp", Role.CLERK), system_actor(AGENCY, "edge")
    with Connection(amqp_uri) as conn:
        queue = Queue("test.edge.outgoing", exchange=Exchange("registry.events", type="topic", durable=True),
                      routing_key="#", durable=False)
        queue(conn.channel()).declare()
        with pytest.raises(Forbidden):
            call(clerk, "create_register", "incoming", 2026)
        with pytest.raises(Exception) as exc:  # no acting user at all
            call(None, "list_registers")
        assert exc.value.__class__.__name__ == "Unauthenticated"
        call(admin, "set_agency_profile", "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "Tuyên Quang")
        from services.registry.numbering import numbering_year
        reg_in = call(admin, "create_register", "incoming", numbering_year())["id"]
        reg_out = call(admin, "create_register", "outgoing", numbering_year())["id"]

        received = call(edge, "receive_package", package(12))
        assert received["state"] == "waiting_reception"
        doc = call(clerk, "get_document", received["incoming_id"])
        assert doc["verification_state"] == "pending"  # no signing service yet: never loses the package
        accepted = call(clerk, "accept_incoming", received["incoming_id"], reg_in)
        assert accepted["number"] == 1

        waiting = call(edge, "submit_for_issue", {"draft_id": "d1", "type_code": "QĐ", "subject": "Quyết định",
                                                  "pdf_sha256": sha("d1"), "answers": [received["incoming_id"]]})
        recipients = [{"organ_id": OTHER, "organ_name": "UBND TP Đà Nẵng"}]
        with pytest.raises(ServiceUnavailable):
            call(clerk, "issue_outgoing", waiting["id"], reg_out, recipients)
        start(SigningStandIn)
        issued = call(clerk, "issue_outgoing", waiting["id"], reg_out, recipients, 3)
        assert issued["number_and_notation"] == "01/QĐ-UBND"
        with pytest.raises(ValidationFailed):
            call(clerk, "reject_incoming", received["incoming_id"], "OTHER", "x")

        got = _read(conn, queue, 4)
        kinds = [k for k, _ in got]
        assert kinds == ["outgoing_status", "incoming_registered", "outgoing_package", "outgoing_issued"]
        by_kind = dict(got)
        assert by_kind["outgoing_status"]["status_code"] == "03"
        assert by_kind["outgoing_package"]["code_number"] == "01" and by_kind["outgoing_package"]["message_id"]
        assert by_kind["outgoing_issued"]["answers"] == [received["incoming_id"]]
