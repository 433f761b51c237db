"""The hub trusts nothing it did not set, and every refusal is answered (issue 21, items 1 and 3).

These call the hub's per-message decision (`Hub.handle`) directly, with its relay log on SQLite and the
topology's agencies as directory: no broker. The end-to-end versions are in test_trust_network.py.
"""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

import pika
import pytest

from services.common.clock import now_vn
from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import broker, domain, edxml
from services.interconnect.hub import Hub, Outcome, TopologyRecipients
from services.interconnect.models import HubBase
from services.interconnect.relaylog import RelayLog
from tests.interconnect.conftest import G22, H17_A, H60_A, H60_B, make_topology
from tests.interconnect.harness import edoc

TOPOLOGY = make_topology("u.")


class Successors(TopologyRecipients):
    """The topology's agencies, plus one agency replaced by a successor (the 2025 mergers)."""

    def __init__(self, replaced: dict[str, str]) -> None:
        super().__init__(TOPOLOGY)
        self.replaced = replaced

    def current_id(self, organ_id: str) -> str:
        return self.replaced.get(organ_id, organ_id)

    def serving_hub(self, organ_id: str) -> str | None:
        return super().serving_hub(self.current_id(organ_id))

    def is_deliverable(self, organ_id: str) -> tuple[bool, str]:
        return super().is_deliverable(self.current_id(organ_id))

    def predecessors(self, organ_id: str) -> list[str]:
        return [old for old, new in self.replaced.items() if new == organ_id]


def make_hub(tmp_path: Path, code: str = "H60", directory=None, database_url: str | None = None) -> Hub:
    settings = CommonSettings(data_dir=tmp_path, **({"database_url": database_url} if database_url else {}))
    db = Database("hub", f"u.hub.{code}", HubBase.metadata, settings)
    db.create_all()
    return Hub(TOPOLOGY, code, directory or TopologyRecipients(TOPOLOGY), RelayLog(db, f"hub.{code}"))


def props(user: str, message_id: str = "m-1", headers: dict | None = None) -> pika.BasicProperties:
    return pika.BasicProperties(user_id=user, message_id=message_id, headers=headers or {})


def agency(organ_id: str) -> str:
    return broker.agency_user(TOPOLOGY, organ_id)


def package(sender: str = H60_A, recipients: tuple[str, ...] = (H60_B,), number: int = 1,
            files: list[tuple[dict, bytes]] | None = None) -> bytes:
    files = files if files is not None else [({"name": "a.pdf", "content_type": "application/pdf"}, b"%PDF-1.4 x")]
    return edxml.build_edoc(edoc(TOPOLOGY, sender, list(recipients), number, []), files)


def refusals(outcome: Outcome) -> list[tuple[str, dict]]:
    """(key, status header) of every status 02 among the copies."""
    found = []
    for copy in outcome.copies:
        head = edxml.parse(copy.body).header
        if head.get("status_code") == "02":
            found.append((copy.key, head))
    return found


def deliveries(outcome: Outcome) -> dict[str, list[str]]:
    return {c.key: list(c.headers[domain.H_RECIPIENTS]) for c in outcome.copies
            if edxml.peek(c.body)["kind"] == "edoc"}


# --- 1. headers are the hub's -----------------------------------------------------------------------------

def test_a_sender_set_readdressing_is_ignored_by_the_first_hub(tmp_path):
    hub = make_hub(tmp_path)
    forged = {domain.H_READDRESSED: {H60_B: H17_A}, domain.H_RECIPIENTS: [H17_A], domain.H_ORIGIN: G22,
              domain.H_TO: H17_A, "x-anything": "else"}
    outcome = hub.handle(package(), props(agency(H60_A), headers=forged))
    assert deliveries(outcome) == {H60_B: [H60_B]}  # the real addressee, not the one the sender named
    (copy,) = outcome.copies
    assert copy.headers[domain.H_ORIGIN] == H60_A
    assert domain.H_READDRESSED not in copy.headers and domain.H_TO not in copy.headers
    assert "x-anything" not in copy.headers


def test_an_agency_cannot_pass_itself_off_as_a_neighbour_hub_or_a_redrive(tmp_path):
    hub = make_hub(tmp_path)
    national = broker.hub_user(TOPOLOGY, "national")
    headers = {domain.ORIGINAL_USER: national, domain.H_RECIPIENTS: [H17_A], domain.H_ORIGIN: G22}
    outcome = hub.handle(package(), props(agency(H60_A), headers=headers))
    assert deliveries(outcome) == {H60_B: [H60_B]}
    assert outcome.copies[0].headers[domain.H_ORIGIN] == H60_A


def test_a_redriven_message_is_judged_as_the_submitter_the_relay_log_recorded(tmp_path):
    hub = make_hub(tmp_path)
    body = package()
    hub.log.append("received", "m-9", sender=H60_A, sha256="", detail=f"user={agency(H60_A)}")
    # Redriven by the operator (published as the hub's own user); the message still carries the submitter's
    # own headers, among them an x-original-user naming a neighbour hub, whose headers a hub would trust.
    kept = {domain.ORIGINAL_USER: broker.hub_user(TOPOLOGY, "national"), domain.H_RECIPIENTS: [H17_A],
            domain.H_ORIGIN: G22, domain.H_READDRESSED: {H60_B: H17_A}}
    outcome = hub.handle(body, props(hub.user, "m-9", headers=kept))
    assert deliveries(outcome) == {H60_B: [H60_B]}
    assert outcome.copies[0].headers[domain.H_ORIGIN] == H60_A


def test_a_redrive_nobody_recorded_is_refused_not_trusted(tmp_path):
    hub = make_hub(tmp_path)
    kept = {domain.ORIGINAL_USER: broker.hub_user(TOPOLOGY, "national"), domain.H_RECIPIENTS: [H17_A],
            domain.H_ORIGIN: G22}
    outcome = hub.handle(package(), props(hub.user, "m-unknown", headers=kept))
    assert outcome.copies == []
    assert [e.event for e in hub.log.entries("m-unknown")][-1] == "rejected"


def test_a_redrive_the_relay_log_missed_is_judged_as_the_agency_the_redrive_named(tmp_path):
    hub = make_hub(tmp_path)
    kept = {domain.ORIGINAL_USER: agency(H60_A), domain.H_RECIPIENTS: [H17_A], domain.H_READDRESSED: {H60_B: H17_A}}
    outcome = hub.handle(package(), props(hub.user, "m-early", headers=kept))
    assert deliveries(outcome) == {H60_B: [H60_B]}


def test_a_neighbour_hubs_headers_are_trusted(tmp_path):
    hub = make_hub(tmp_path, "H17")
    headers = {domain.H_RECIPIENTS: [H17_A], domain.H_ORIGIN: H60_A, domain.H_SUBMITTED: domain.epoch_ms()}
    traced = edxml.append_trace(package(recipients=(H17_A,)), "hub.H60", now_vn())
    outcome = hub.handle(traced, props(broker.hub_user(TOPOLOGY, "national"), headers=headers))
    assert deliveries(outcome) == {H17_A: [H17_A]}


def test_a_status_from_a_successor_names_whom_it_answers_for(tmp_path):
    merged = "000.00.12.H60"
    hub = make_hub(tmp_path, directory=Successors({merged: H60_B}))
    status = edxml.build_status({
        "kind": "status", "from": {"organ_id": H60_B, "organ_name": "Sở Nội vụ"}, "to": {"organ_id": H60_A},
        "response_for": {"organ_id": H60_A, "code": "1/UBND-VX", "promulgation_date": "2026-11-21",
                         "document_id": "000.00.00.H60,2026/11/21,1/UBND-VX"},
        "staff": {"department": "", "name": "x", "mobile": "", "email": ""}, "status_code": "01",
        "description": "Đã đến", "timestamp": "2026-11-21T10:00:00+07:00"})
    forged = {domain.H_PREDECESSORS: ["000.00.77.H60"]}
    (copy,) = hub.handle(status, props(agency(H60_B), headers=forged)).copies
    assert copy.headers[domain.H_PREDECESSORS] == [merged]


# --- 3. every refusal is answered -------------------------------------------------------------------------

def _assert_refused_to(outcome: Outcome, sender: str, starts: str) -> dict:
    (key, status), = refusals(outcome)
    assert key == sender and status["to"]["organ_id"] == sender
    assert status["description"].startswith(starts), status["description"]
    return status


def test_a_comment_before_the_root_element_is_relayed(tmp_path):
    hub = make_hub(tmp_path)
    body = package()
    root = body.index(b"<edXML")
    for comment in (b"<!-- ghi chu -->", b"<!-- <edXML:TraceHeaderList></edXML:TraceHeaderList> -->",
                    b"<!-- </edXML:MessageHeader> -->"):
        outcome = hub.handle(body[:root] + comment + body[root:], props(agency(H60_A)))
        assert deliveries(outcome) == {H60_B: [H60_B]}, comment
        got = edxml.parse(outcome.copies[0].body).header
        assert [t["organ_id"] for t in got["trace"]] == ["hub.H60"]


def _corrupt_deflate_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("van-ban.pdf", b"%PDF-1.4 " + b"noi dung " * 2000)
    raw = bytearray(buffer.getvalue())
    start = 30 + len("van-ban.pdf")  # the local header, then the deflate stream
    for i in range(start + 2, start + 40):
        raw[i] ^= 0x5A
    return bytes(raw)


def test_a_zip_attachment_with_a_corrupt_deflate_stream_is_refused_with_02(tmp_path):
    hub = make_hub(tmp_path)
    body = package(files=[({"name": "van-ban.pdf", "content_type": "application/pdf"}, b"x")])
    body = body.replace(base64.b64encode(b"x"), base64.b64encode(_corrupt_deflate_zip()))
    body = body.replace(b">application/pdf<", b">application/zip<")
    outcome = hub.handle(body, props(agency(H60_A)))
    _assert_refused_to(outcome, H60_A, "Tệp đính kèm bị thiếu hoặc hỏng")


class BrokenDirectory(TopologyRecipients):
    def is_deliverable(self, organ_id: str) -> tuple[bool, str]:
        raise RuntimeError("directory bug")


def test_any_exception_while_routing_becomes_a_02_to_the_authenticated_sender(tmp_path):
    hub = make_hub(tmp_path, directory=BrokenDirectory(TOPOLOGY))
    outcome = hub.handle(package(), props(agency(H60_A)))
    status = _assert_refused_to(outcome, H60_A, "Trục liên thông không xử lý được gói tin")
    assert "RuntimeError" in status["description"]
    assert [e.event for e in hub.log.entries("m-1")][-1] == "rejected"


def test_undecodable_headers_are_refused_with_02(tmp_path):
    hub = make_hub(tmp_path)
    headers = {domain.H_UNDECODABLE: "ValueError: year is out of range"}
    outcome = hub.handle(package(), props(agency(H60_A), headers=headers))
    _assert_refused_to(outcome, H60_A, "Gói tin edXML không hợp lệ")


@pytest.mark.parametrize("message_id", ["id\x00with-nul", "x" * 5000, b"\xff\xfe-bytes"])
def test_a_strange_message_id_is_logged_and_answered(tmp_path, pg_url, message_id):
    hub = make_hub(tmp_path, database_url=pg_url)  # PostgreSQL: it refuses NUL bytes and over-long values
    hub.log.hold()
    outcome = hub.handle(b"<edXML>not a package", props(agency(H60_A), message_id=message_id))
    hub.log.flush()  # the held rows must be writable, or the whole window would be redelivered forever
    _assert_refused_to(outcome, H60_A, "Gói tin edXML không hợp lệ")
    assert hub.log.verify() == []


def test_the_pika_decoder_reports_a_header_table_it_cannot_read_instead_of_raising():
    good = pika.BasicProperties(message_id="m-2", user_id="u", delivery_mode=2, headers={
        "x-when": __import__("datetime").datetime(2026, 1, 1), "x-death": [{"queue": "relay"}]})
    encoded = b"".join(good.encode())
    stamp = encoded.index(b"T", encoded.index(b"x-when"))
    poison = encoded[:stamp + 1] + b"\xff" * 8 + encoded[stamp + 9:]  # a timestamp no datetime can hold
    decoded = pika.BasicProperties().decode(poison)
    assert decoded.message_id == "m-2" and decoded.user_id == "u" and decoded.delivery_mode == 2
    assert decoded.headers["x-death"] == [{"queue": "relay"}]  # only the bad value is left out
    assert set(decoded.headers) == {"x-death", domain.H_UNDECODABLE} and "x-when" in decoded.headers[
        domain.H_UNDECODABLE]


@pytest.mark.parametrize("field", ["document_id", "organ_id"])
def test_an_over_long_identifier_is_refused_at_the_first_hub_not_by_a_database_downstream(tmp_path, field):
    hub = make_hub(tmp_path)
    header = edoc(TOPOLOGY, H60_A, [H60_B], 1, [])
    if field == "document_id":
        header["document_id"] = f"{H60_A},2026/11/21,1/" + "X" * 300
    else:
        header["to"].append({"organ_id": "9" * 100, "organ_name": "x"})
    body = edxml.build_edoc(header, [])
    outcome = hub.handle(body, props(agency(H60_A)))
    status = _assert_refused_to(outcome, H60_A, "Gói tin edXML không hợp lệ")
    assert "tối đa" in status["description"]


class _Registry:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def call(self, _service, method, _actor, _payload):
        self.calls.append(method)
        return {"matched": True}


class _FailingBlobs:
    """A blob store meeting a value it cannot take (the kind of bug a package's content can trigger): the
    incoming package; our own 02 it stores."""

    def __init__(self, tmp_path: Path) -> None:
        from services.storage.blobs import LocalBlobStore

        self.store = LocalBlobStore(tmp_path / "blobs")

    def put_bytes(self, data):
        if b"<edXML:StatusCode>" not in data:
            raise ValueError("a value this store cannot take")
        return self.store.put_bytes(data)


def test_the_edge_answers_a_package_it_cannot_handle_with_02_instead_of_dead_lettering_it(tmp_path):
    from services.interconnect.edge import Edge
    from services.interconnect.models import EdgeBase

    db = Database("edge", H60_B, EdgeBase.metadata, CommonSettings(data_dir=tmp_path))
    db.create_all()
    registry = _Registry()
    edge = Edge(TOPOLOGY, H60_B, broker.Credentials("127.0.0.1", 1), db, _FailingBlobs(tmp_path), registry)
    body = edxml.append_trace(package(), "hub.H60", now_vn())
    replies = edge.take_incoming(body, {domain.H_ORIGIN: H60_A})
    assert registry.calls == []  # never handed over, so the 02 is the only outcome
    (reply,) = replies
    assert (reply.status_code, reply.recipients) == ("02", H60_A)
