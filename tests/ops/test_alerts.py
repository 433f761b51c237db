"""Alert rules: each alert has its own promtool unit test; the rules and the generated config pass promtool checks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.prometheus import ALERT_RULES, RULES_DIR, config, rule_files
from infra.stack import DEMO_PORTS
from services.common.workcalendar import DEFAULT_REGISTRATION_LIMIT_HOURS
from services.interconnect.topology import DEMO

REPO = Path(__file__).resolve().parents[2]
# Metrics the rules use that another area exports (told to its owner); every other name must be in the code.
EXPORTED_ELSEWHERE = {"congvan_signing_certificate_expiry_timestamp_seconds"}


def alert_rules() -> dict[str, dict]:
    doc = yaml.safe_load(ALERT_RULES.read_text())
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, check=False, cwd=RULES_DIR)


def test_rules_pass_promtool_check():
    out = promtool("check", "rules", str(ALERT_RULES))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in out.stdout


@pytest.mark.parametrize("alert", sorted(alert_rules()))
def test_each_alert_fires_and_stays_quiet_as_its_unit_test_says(alert):
    test_file = RULES_DIR / "tests" / f"{alert}.yml"
    assert test_file.exists(), f"no promtool test for {alert}"
    cases = [c for t in yaml.safe_load(test_file.read_text())["tests"] for c in t["alert_rule_test"]]
    mine = [c for c in cases if c["alertname"] == alert]
    # the test must show the alert both quiet and firing, or it proves nothing
    assert any(c["exp_alerts"] for c in mine) and any(not c["exp_alerts"] for c in mine)
    out = promtool("test", "rules", str(test_file))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_every_metric_in_the_rules_is_exported_by_the_code():
    names = set(re.findall(r"\b(congvan_[a-z0-9_]+)", ALERT_RULES.read_text()))
    source = "\n".join(p.read_text() for d in ("services", "gateway") for p in (REPO / d).rglob("*.py"))
    missing = {n for n in names if f'"{n}"' not in source} - EXPORTED_ELSEWHERE
    assert not missing, f"rules use metrics no code exports: {sorted(missing)}"


def test_inbox_alert_uses_the_registration_limit():
    # each agency's own (issue 18 item 8), the default where an agency's is not exported
    expr = alert_rules()["InboxOlderThanRegistrationLimit"]["expr"]
    assert f"> {DEFAULT_REGISTRATION_LIMIT_HOURS} * 3600" in expr and "congvan_registration_limit_seconds" in expr


def test_generated_config_with_the_rules_passes_promtool(tmp_path):
    path = tmp_path / "prometheus.yml"
    path.write_text(config(DEMO, DEMO_PORTS, rule_files=rule_files()))
    out = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in out.stdout + out.stderr
    jobs = {j["job_name"] for j in yaml.safe_load(path.read_text())["scrape_configs"]}
    assert jobs == {"rabbitmq", "hub", "agency_services", "edge", "gateway", "vdxp_api", "lgsp_api"}
