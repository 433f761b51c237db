"""The overdue gauge's first refresh is retried soon when routing is not up yet at start, instead of waiting the
whole REPORTING_OVERDUE_INTERVAL.

Real processes on one vhost: the reporting service starts alone (its eager refresh fails: no routing), then a
second agency process brings routing up. The normal interval is set to an hour, so the gauge can only appear
through the start-up back-off; the deadline of the poll is generous, not a measurement.
"""

from __future__ import annotations

import os
import urllib.request

from infra import procs
from tests.agency import running_agency_process

AGENCY = "000.00.00.H60"
GAUGE = f'congvan_documents_overdue{{agency="{AGENCY}",unit=""}} 0.0'


def overdue_lines(port: int) -> list[str]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return [line for line in text.splitlines() if line.startswith("congvan_documents_overdue{")]


def test_overdue_gauge_is_set_soon_after_routing_comes_up(fresh_vhost, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT", "DATABASE_URL")}
    env.update({"DATA_DIR": str(tmp_path / "data"), "ROUTING_CHECK_BLOBS": "0",
                "REPORTING_OVERDUE_INTERVAL": "3600", "REPORTING_OVERDUE_FIRST_RETRY": "1"})
    reporting_log = tmp_path / "reporting.log"
    with running_agency_process("services.reporting.service:ReportingService", fresh_vhost, reporting_log, env,
                                agency=AGENCY) as reporting_port:
        procs.wait_until(lambda: "overdue gauge refresh failed" in reporting_log.read_text(errors="replace"), 60,
                         "the first refresh to fail while routing is absent")
        assert overdue_lines(reporting_port) == []          # nothing known yet: no made-up 0
        with running_agency_process("services.routing.service:RoutingService", fresh_vhost,
                                    tmp_path / "routing.log", env, agency=AGENCY):
            procs.wait_until(lambda: GAUGE in overdue_lines(reporting_port), 120,
                             "the overdue gauge after routing came up (start-up back-off, not the hourly tick)")
