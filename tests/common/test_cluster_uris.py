"""A RabbitMQ cluster in one AMQP_URI (docs/deployment.md): every node, tried in order by the RPC client, the push
follower and (kombu) nameko; production compose writes it from AMQP_CLUSTER_HOSTS."""

from __future__ import annotations

import pytest

from infra.deploy import launch
from services.common.rpc_client import ServiceClient, cluster_uris


def test_a_cluster_uri_is_its_nodes_in_order_and_a_single_uri_one_node():
    assert cluster_uris("amqp://u:p@n1:5672/vh; amqp://u:p@n2:5672/vh;") == ["amqp://u:p@n1:5672/vh",
                                                                              "amqp://u:p@n2:5672/vh"]
    assert cluster_uris("amqp://u:p@n1/vh") == ["amqp://u:p@n1/vh"]
    with pytest.raises(ValueError):
        cluster_uris(" ; ")


def test_the_rpc_client_knows_every_node_without_connecting():
    client = ServiceClient("amqp://u:p@127.0.0.1:1/a;amqp://u:p@127.0.0.1:2/a", size=1)
    assert [(p.port, p.virtual_host) for p in client.params] == [(1, "a"), (2, "a")]
    assert all(p.connection_attempts == 1 and p.heartbeat == 30 for p in client.params)


def test_production_writes_every_cluster_node_into_an_installations_uri(tmp_path, monkeypatch):
    from services.interconnect import broker
    from services.interconnect.topology import DEMO

    organ = DEMO.installations()[0].organ_id
    user, vhost = broker.services_user(DEMO, organ), broker.agency_vhost(DEMO, organ)
    broker.Credentials(host="rabbitmq-1", port=5672, passwords={user: "pa/ss"}).save(tmp_path)
    creds = broker.Credentials.load(tmp_path)
    single = creds.uri(user, vhost)
    monkeypatch.delenv("AMQP_CLUSTER_HOSTS", raising=False)
    assert launch.agency_uri(DEMO, tmp_path, organ) == single
    monkeypatch.setenv("AMQP_CLUSTER_HOSTS", "rabbitmq-1, rabbitmq-2,rabbitmq-3:5673")
    nodes = cluster_uris(launch.agency_uri(DEMO, tmp_path, organ))
    assert [n.split("@")[1].split("/")[0] for n in nodes] == ["rabbitmq-1:5672", "rabbitmq-2:5672", "rabbitmq-3:5673"]
    assert all(n.split("@")[0] == single.split("@")[0] and n.endswith(single.split("/", 3)[3]) for n in nodes)
