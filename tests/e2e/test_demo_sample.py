"""The demo's sample working day (infra/demo_sample.py), made over real HTTP on a deployment of its own that runs as
the demo does (personal tokens, PINs typed at signing): what a person then sees on signing in, a failed step that
leaves the day incomplete without stopping anything, and a second run that changes nothing.

Its own deployment, not the shared one: the shared deployment's agencies are the demo's agencies too, and other
tests count their lists (waiting for reception, the register's numbers) from empty.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import procs
from infra.demo import Deployment
from infra.demo_sample import (
    DN,
    LETTERS,
    MARKER,
    MEETING,
    NOTICE,
    PAPERS,
    REPLY,
    SNV_TQ,
    TASK,
    TQ,
    VPCP,
    Person,
    make_sample_day,
    meeting_day,
    read_secrets,
    run_day,
    username_of,
)
from infra.procs import ProcTable
from services.interconnect.topology import DEMO
from tests.deployment import e2e_topology
from tests.e2e.helpers import wait_for

NAMES = {a.organ_id: a.name for a in DEMO.agencies}


@pytest.fixture(scope="module")
def demo_like(stack_env, tmp_path_factory) -> Iterator[Deployment]:
    """The demo's topology on the test broker with the demo's personal tokens (no VDXP or LGSP API: not used)."""
    run_dir = tmp_path_factory.mktemp("sample-day")
    topology = e2e_topology()
    topology = dataclasses.replace(topology, extra={"namespace": topology.extra["namespace"]})
    dep = Deployment(topology, run_dir, ProcTable(run_dir), stack_env["RABBIT_API_URI"], tsa_port=procs.free_port(),
                     personal_tokens=True)
    try:
        dep.start()
        dep.accounts_text = _seeded(dep, run_dir / "accounts.txt")
        yield dep
    finally:
        for someone in SIGNED_IN.values():
            someone.close()
        SIGNED_IN.clear()
        dep.stop()
        from services.common.rabbit_admin import RabbitAdmin
        from services.interconnect.broker import unprovision

        admin = RabbitAdmin(stack_env["RABBIT_API_URI"])
        unprovision(admin, topology)
        admin.close()


def _seeded(dep: Deployment, accounts: Path) -> str:
    """Seed from a new process: provisioning the tokens initialises SoftHSM2 in the seeding process, which reads
    SOFTHSM2_CONF once per process. Seeded here, this test worker would keep the deployment's token store, and a later
    test of the same worker that provisions tokens of its own (tests/signing/test_demo_tokens.py) would find this
    deployment's seal of 000.00.00.H60 there; or, had such a test run first, this seeding would put the deployment's
    tokens in that test's store. Spawned, not forked: a fork would inherit an initialised library."""
    child = multiprocessing.get_context("spawn").Process(target=dep.seed, args=(accounts,))
    child.start()
    child.join()
    assert child.exitcode == 0, f"seeding the sample day's deployment failed ({child.exitcode})"
    return accounts.read_text()


def base_url(dep: Deployment) -> str:
    return f"http://127.0.0.1:{dep.topology.gateway_port}"


SIGNED_IN: dict[str, Person] = {}   # closed with the deployment


def person(dep: Deployment, organ_id: str, role: str) -> Person:
    username = username_of(organ_id, role)
    if username not in SIGNED_IN:
        SIGNED_IN[username] = Person(base_url(dep), username, read_secrets(dep.accounts_text).passwords[username])
    return SIGNED_IN[username]


def with_wrong_pin(accounts_text: str, username: str) -> str:
    pin = read_secrets(accounts_text).pins[username]
    wrong = f"{(int(pin) + 1) % 10**6:06d}"
    return re.sub(rf"^(\s*{re.escape(username)}\s+mã PIN thiết bị ký số: ){pin}", rf"\g<1>{wrong}", accounts_text,
                  flags=re.MULTILINE)


def test_a_failed_step_leaves_the_day_incomplete_and_the_next_start_finishes_it(demo_like, tmp_path):
    said: list[str] = []
    leader = username_of(SNV_TQ, "leader")
    complete = make_sample_day(base_url(demo_like), with_wrong_pin(demo_like.accounts_text, leader), NAMES, tmp_path,
                               said.append)
    assert not complete and not (tmp_path / MARKER).exists()
    failures = [line for line in said if line.startswith("  Không tạo được:")]
    assert len(failures) == 1, said
    assert f"({leader}): POST /api/v1/drafts/" in failures[0] and "pin_incorrect" in failures[0], failures
    assert sum(line.startswith("Dữ liệu mẫu chưa đủ") for line in said) == 1, said
    assert "pin_incorrect" in (tmp_path / "stack" / "log" / "sample-day.log").read_text()

    said.clear()
    assert make_sample_day(base_url(demo_like), demo_like.accounts_text, NAMES, tmp_path, said.append), said
    assert (tmp_path / MARKER).exists()
    clerk_line = next(line for line in said if username_of(DN, "clerk") in line)
    assert "2 văn bản liên thông chờ tiếp nhận" in clerk_line and "4 văn bản giấy" in clerk_line, said
    said.clear()
    assert make_sample_day(base_url(demo_like), demo_like.accounts_text, NAMES, tmp_path, said.append)
    assert len(said) == 1 and "đã tạo" in said[0], said   # once per data folder


def test_what_the_people_of_the_sample_day_see(demo_like):
    clerk, leader = person(demo_like, DN, "clerk"), person(demo_like, DN, "leader")
    head, specialist = person(demo_like, DN, "department_head"), person(demo_like, DN, "specialist")

    # The letters from Tuyên Quang wait for reception, signed, with valid signatures
    waiting = {d["subject"]: d for d in clerk.get("/api/v1/incoming/waiting-reception")["items"]}
    assert set(waiting) == {letter.subject for letter in LETTERS}
    for letter in LETTERS:
        doc = waiting[letter.subject]
        assert doc["sender_organ_name"] == NAMES[letter.organ_id] and doc["legally_valid"] is True, doc
        detail = clerk.get(f"/api/v1/incoming/{doc['id']}")
        signed = detail["attachments"][0]
        report = clerk.get(f"/api/v1/documents/{doc['id']}/files/{signed['sha256']}/signatures")
        assert report["legally_valid"] and {s["signer"] for s in report["signatures"]} == {
            letter.signer, NAMES[letter.organ_id]}, report
    government = person(demo_like, VPCP, "clerk").get("/api/v1/incoming/waiting-reception")["items"]
    assert [d["subject"] for d in government] == [LETTERS[0].subject]

    # The sender sees the statuses come back
    tq_clerk = person(demo_like, TQ, "clerk")
    sent = tq_clerk.get("/api/v1/outgoing")["items"]
    assert [d["subject"] for d in sent] == [LETTERS[0].subject]
    wait_for(lambda: {r["organ_id"]: r["status_code"] for r in tq_clerk.get(
        f"/api/v1/outgoing/{sent[0]['id']}/statuses")["recipients"]} == {VPCP: "01", DN: "01"}, 120, "status 01")

    # The register: the paper letters, numbered 1 to 4 in the order they were registered
    register = clerk.get("/api/v1/incoming", size=100)["items"]
    assert {d["subject"]: d["number"] for d in register} == {p.subject: n for n, p in enumerate(PAPERS, 1)}
    ids = {d["subject"]: d["id"] for d in register}

    # Their handling: directed to the unit with a deadline, in the specialist's hands, waiting for the leader
    directed = clerk.get(f"/api/v1/handling/{ids[PAPERS[0].subject]}")
    assert directed["status"] == "assigned" and directed["deadline"], directed
    assert any(a.get("unit") == head.unit and a["kind"] == "main" and a["active"] for a in directed["assignments"])
    in_hand = clerk.get(f"/api/v1/handling/{ids[PAPERS[1].subject]}")
    assert any(a["user_id"] == specialist.user_id and a["kind"] == "main" and a["active"]
               for a in in_hand["assignments"]), in_hand
    assert ids[PAPERS[0].subject] in [h["incoming_id"] for h in head.get("/api/v1/handling", box="mine")]
    assert ids[PAPERS[1].subject] in [h["incoming_id"] for h in specialist.get("/api/v1/handling", box="mine")]
    assert [h["incoming_id"] for h in leader.get("/api/v1/handling", box="to_direct")] == [ids[PAPERS[2].subject]]
    assert clerk.get(f"/api/v1/handling/{ids[PAPERS[3].subject]}")["status"] == "received"

    # The reply drafted by the specialist waits for the leader's signature
    drafts = [d for d in leader.get("/api/v1/drafts")["items"] if d["title"] == REPLY]
    assert len(drafts) == 1 and drafts[0]["status"] == "in_review" and drafts[0]["step"]["key"] == "leader"
    assert REPLY in [d["title"] for d in specialist.get("/api/v1/drafts")["items"]]

    # The office: a notice to everyone, a task for the head, the leadership's published schedule
    assert [n["title"] for n in specialist.get("/api/v1/notices")["items"]] == [NOTICE]
    assert [t["title"] for t in head.get("/api/v1/tasks")["items"]] == [TASK]
    week = specialist.get("/api/v1/schedule", week=meeting_day().isoformat())
    assert week["published"] and [e["title"] for d in week["days"] for e in d["entries"]] == [MEETING]


def test_running_the_day_again_adds_nothing(demo_like):
    before = seen(demo_like)
    lines, failures = run_day(base_url(demo_like), demo_like.accounts_text, NAMES)
    assert failures == [] and lines
    assert seen(demo_like) == before


def seen(dep: Deployment) -> dict[str, Any]:
    """What the people of the day see in their lists: ids, numbers and states (not the clocks that move)."""
    out: dict[str, Any] = {}
    for organ_id in (TQ, SNV_TQ, DN, VPCP):
        clerk = person(dep, organ_id, "clerk")
        out[f"{organ_id}:registers"] = [(r["id"], r["next_number"]) for r in clerk.get("/api/v1/registers")]
        for path in ("/api/v1/incoming", "/api/v1/incoming/waiting-reception", "/api/v1/outgoing"):
            out[f"{organ_id}:{path}"] = sorted((d["id"], d["state"]) for d in clerk.get(path, size=100)["items"])
    for role in ("leader", "department_head", "specialist"):
        someone = person(dep, DN, role)
        out[f"{role}:drafts"] = sorted((d["draft_id"], d["status"], d["version"])
                                       for d in someone.get("/api/v1/drafts", size=100)["items"])
        out[f"{role}:tasks"] = sorted(t["task_id"] for t in someone.get("/api/v1/tasks", size=100)["items"])
        out[f"{role}:notices"] = someone.get("/api/v1/notices", size=100)["total"]
        out[f"{role}:handling"] = sorted((h["incoming_id"], h["status"])
                                         for h in someone.get("/api/v1/handling",
                                                              box="all" if role == "leader" else "mine"))
    out["schedule"] = person(dep, DN, "clerk").get("/api/v1/schedule", week=meeting_day().isoformat())
    return out
