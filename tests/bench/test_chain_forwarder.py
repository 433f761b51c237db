"""The raw chain forwarder's bookkeeping (bench/chain_forwarder.py): a source message is acked only once the next
broker confirmed its copy and every copy published before it. Pure logic; the forwarder itself runs in
tests/bench/test_hub_relay.py against real brokers."""

from __future__ import annotations

from bench.chain_forwarder import Unconfirmed


def published(*source_tags: int) -> Unconfirmed:
    unconfirmed = Unconfirmed()
    for tag in source_tags:
        unconfirmed.published_one(tag)
    return unconfirmed


def test_a_multiple_confirm_acks_everything_up_to_it_at_once():
    unconfirmed = published(11, 12, 13)
    assert unconfirmed.confirm(2, multiple=True) == 12
    assert unconfirmed.confirm(3, multiple=True) == 13
    assert not unconfirmed.waiting


def test_a_copy_confirmed_ahead_of_an_earlier_one_waits_for_it():
    unconfirmed = published(11, 12, 13)
    assert unconfirmed.confirm(2, multiple=False) is None     # 11's copy is not confirmed yet
    assert unconfirmed.confirm(1, multiple=False) == 12       # now 11 and 12, with one ack
    assert unconfirmed.confirm(3, multiple=False) == 13
    assert not unconfirmed.waiting and not unconfirmed.confirmed


def test_a_multiple_confirm_after_single_ones_leaves_nothing_behind():
    unconfirmed = published(5, 6, 7, 8)
    assert unconfirmed.confirm(3, multiple=False) is None
    assert unconfirmed.confirm(2, multiple=True) == 7         # 1-2 by the multiple, 3 confirmed before
    assert unconfirmed.confirmed == set()
    assert unconfirmed.confirm(4, multiple=True) == 8
