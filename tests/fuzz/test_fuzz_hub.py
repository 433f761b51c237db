"""Fuzz the hub's decision for one message (`Hub.handle`, no broker): any body, any AMQP properties and
headers, from any broker user. It never raises; an agency's message is either relayed to the recipients its
package names, with headers the hub computed, or answered by a status 02 to that agency (a status nobody
can take is only logged); a neighbour hub's message goes only to recipients that hub named."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pika
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import broker, domain, edxml
from services.interconnect.hub import Hub, TopologyRecipients
from services.interconnect.models import HubBase
from services.interconnect.relaylog import RelayLog
from tests.fuzz.conftest import CORPUS, mutated
from tests.interconnect.conftest import G22, H17_A, H60_A, H60_B, make_topology
from tests.interconnect.harness import edoc

pytestmark = pytest.mark.fuzz
TOPOLOGY = make_topology("f.")
AGENCIES = [H60_A, H60_B, H17_A, G22]
_db_dir = Path(tempfile.mkdtemp(prefix="fuzz-hub-"))
_db = Database("hub", "f.hub.H60", HubBase.metadata, CommonSettings(data_dir=_db_dir))
_db.create_all()
HUB = Hub(TOPOLOGY, "H60", TopologyRecipients(TOPOLOGY), RelayLog(_db, "hub.H60"))
AGENCY_USERS = {broker.agency_user(TOPOLOGY, a): a for a in [H60_A, H60_B]}
HUB_USERS = [broker.hub_user(TOPOLOGY, "national"), HUB.user]
SEEDS = {**CORPUS, **{f"to-{r}": edxml.build_edoc(edoc(TOPOLOGY, H60_A, [r], 5, []), []) for r in AGENCIES}}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.text(max_size=30),
                    st.binary(max_size=30), st.sampled_from([*AGENCIES, "hub.H60", "000.00.99.H60"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                      max_leaves=8)
header_keys = st.one_of(st.sampled_from([domain.H_RECIPIENTS, domain.H_TO, domain.H_ORIGIN, domain.ORIGINAL_USER,
                                         domain.H_SUBMITTED, domain.H_READDRESSED, domain.H_PREDECESSORS,
                                         domain.H_UNDECODABLE, "x-death"]), st.text(max_size=20))
headers = st.one_of(st.none(), st.dictionaries(header_keys, values, max_size=6))
users = st.one_of(st.sampled_from([*AGENCY_USERS, *HUB_USERS, "stranger", ""]), st.none(), st.text(max_size=20))
message_ids = st.one_of(st.none(), st.text(max_size=300), st.binary(max_size=40))


def _addressed(body: bytes) -> set[str]:
    try:
        facts = edxml.peek(body)
    except Exception:
        return set()
    return set(facts.get("to") or [])


@settings(settings.get_profile("fuzz"))
@given(body=mutated(SEEDS), user=users, message_id=message_ids, amqp_headers=headers)
def test_the_hub_decides_every_message(body: bytes, user, message_id, amqp_headers) -> None:
    HUB.log.hold()
    try:
        props = pika.BasicProperties(user_id=user, message_id=message_id, headers=amqp_headers)
        outcome = HUB.handle(body, props)
        rows = list(HUB.log._held or [])
    finally:
        HUB.log.discard()
    sender = AGENCY_USERS.get(user or "")
    addressed = _addressed(body)
    for copy in outcome.copies:
        head = edxml.peek(copy.body)
        if sender is not None:
            if head.get("status_code") == "02" and copy.headers[domain.H_ORIGIN] == HUB.me:
                assert head["to"] == [sender] and copy.headers[domain.H_RECIPIENTS] == [sender]
                continue
            assert copy.headers[domain.H_ORIGIN] == sender  # never what the sender wrote there
            assert set(copy.headers[domain.H_RECIPIENTS]) <= addressed  # no rerouting
            assert domain.H_READDRESSED not in copy.headers  # nobody is replaced in this directory
        elif user in HUB_USERS[:1]:  # a neighbour hub: only the recipients it named (or its sender, for a 02)
            named = (amqp_headers or {})
            assert set(copy.headers[domain.H_RECIPIENTS]) <= {
                *domain.organ_ids(named.get(domain.H_RECIPIENTS)), domain.printable(named.get(domain.H_ORIGIN), 64)}
    if sender is not None and not outcome.copies:
        assert rows and rows[-1][0] == "rejected"  # refused and logged
        assert edxml.peek(body)["kind"] == "status"  # and only a status goes unanswered (no status loops)
