""""Hệ thống đang bận" only when a service is really away (issue 21 item 6): the gateway's service calls over the
real broker, against an empty vhost (nobody consumes the service's queue) and the real deployment."""

from __future__ import annotations

import pytest

from gateway.backends import Backends, ServiceFailed, ServiceUnavailable
from services.common.actor import Actor

AGENCY = "000.00.00.G22"
CLERK = Actor(user_id="u-thu", username="thunt.vpcp", agency_id=AGENCY, roles=frozenset({"clerk"}))


def test_a_service_nobody_runs_is_busy(fresh_vhost):
    backends = Backends({AGENCY: {"amqp_uri": fresh_vhost}}, timeout=10)
    try:
        with pytest.raises(ServiceUnavailable) as refused:
            backends.call(CLERK, "registry", "list_registers")
        assert "đang bận" in refused.value.message_vi
    finally:
        backends.close()


def test_a_defect_in_a_running_service_is_not_called_busy(deployment):
    """A method the service does not have (the gateway and the services out of step): answered at once by the
    running service, so it is a defect to report, not a wait-and-retry."""
    backends = Backends({AGENCY: {"amqp_uri": deployment.agencies()[AGENCY]["amqp_uri"]}}, timeout=60)
    try:
        with pytest.raises(ServiceFailed) as failed:
            backends.call(CLERK, "registry", "no_such_method")
        assert "đang bận" not in failed.value.message_vi and "lỗi hệ thống" in failed.value.message_vi
        assert failed.value.http_status == 500 and failed.value.details["error"] == "MethodNotFound"
        with pytest.raises(ServiceFailed):  # wrong arguments: nameko's IncorrectSignature
            backends.call(CLERK, "registry", "list_registers", 1, 2, 3, 4, 5)
    finally:
        backends.close()
