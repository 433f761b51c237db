"""Production deployment files, checked statically (no container engine runs on the project's machines):
YAML valid, images pinned, every referenced file present, every process's settings complete and valid."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.common.settings import CommonSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "infra" / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_IMAGE = "congvan:0.1.0"
APPS = {n: s for n, s in SERVICES.items() if s.get("image") == APP_IMAGE}
# Variables processes read outside the settings classes (os.environ in code), and compose-only ones.
EXTRA_VARS = {"RABBIT_API_URI", "NAMEKO_MAX_WORKERS", "AMQP_HOST", "AMQP_PORT", "AMQP_CLUSTER_HOSTS", "GATEWAY_PORT",
              "RUN_DIR", "TOPOLOGY_FILE", "HUB_RABBIT_API_URIS", "LINK_TLS_DIR", "HUB_LINK_CRL_CHECK_SECONDS"}
# What a production process must NOT take from the embedded defaults.
REQUIRED = {"DATABASE_URL", "DATA_DIR", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "METRICS_PORT",
            "METRICS_HOST"}
REQUIRED_BY_KIND = {
    "agency": REQUIRED | {"SIGNING_TRUST_STORE", "SIGNING_TRUST_ROOTS", "SIGNING_KEY_SOURCE", "SIGNING_PKCS11_PIN",
                          "S3_BUCKET_PREFIX", "S3_OBJECT_LOCK"},
    "gateway": REQUIRED | {"DIRECTORY_FILE", "COOKIE_SECURE"},
    "hub": REQUIRED | {"RABBIT_API_URI"},
    "edge": REQUIRED | {"AGENCY_ID"},
    "provision": {"RABBIT_API_URI", "AMQP_HOST", "AMQP_PORT", "HUB_RABBIT_API_URIS", "LINK_TLS_DIR"},
    "linkguard": {"RABBIT_API_URI"},
    "backup": REQUIRED,
}


def settings_classes() -> dict[str, type[CommonSettings]]:
    for module in ("services.storage.settings", "services.signing.settings", "gateway.settings"):
        importlib.import_module(module)
    found, todo = {}, [CommonSettings]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo += cls.__subclasses__()
    return found


def kind(name: str) -> str:
    return name.split("-")[0]


def classes_for(kind_: str) -> list[type[CommonSettings]]:
    every = settings_classes()
    if kind_ == "agency":
        return [c for n, c in every.items() if n != "GatewaySettings"]
    if kind_ == "gateway":
        return [every["GatewaySettings"]]
    return [CommonSettings]


def env_of(service: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    for f in service.get("env_file", []):
        for line in (DEPLOY / f).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, value = line.partition("=")
                env[key.strip()] = value.strip()
    env.update({k: str(v) for k, v in (service.get("environment") or {}).items()})
    return {k: re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "secret-from-dot-env", v) for k, v in env.items()}


def host_paths() -> list[tuple[str, Path]]:
    out = []
    for name, svc in SERVICES.items():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("."):
                out.append((name, (DEPLOY / src).resolve()))
        out += [(name, (DEPLOY / f).resolve()) for f in svc.get("env_file", [])]
    return out


def test_yaml_files_parse():
    for path in [DEPLOY / "compose.yml", DEPLOY / "prometheus" / "prometheus.yml",
                 *(REPO / "infra" / "grafana" / "provisioning").rglob("*.yml")]:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path


def test_the_stack_of_the_issue_is_there():
    images = {n: s.get("image", "") for n, s in SERVICES.items()}
    rabbits = [n for n, i in images.items() if i.startswith("rabbitmq:")]
    assert sorted(rabbits) == ["rabbitmq-1", "rabbitmq-2", "rabbitmq-3", "rabbitmq-national"]
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text()   # the provincial hub's cluster
    assert all(f"rabbit@rabbitmq-{n}" in conf for n in (1, 2, 3)) and "default_queue_type = quorum" in conf
    assert "rabbit@rabbitmq-national" not in conf
    assert "rabbitmq_prometheus" in (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    for prefix in ("postgres:", "minio/minio:", "prom/prometheus:", "grafana/grafana-oss:"):
        assert any(i.startswith(prefix) for i in images.values()), prefix
    assert {"hub", "agency", "edge", "gateway", "provision", "backup"} <= {kind(n) for n in APPS}


def test_every_image_is_pinned():
    for name, svc in SERVICES.items():
        image = svc["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned"
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM") or "COPY --from=" in line:
            ref = line.split()[1] if line.startswith("FROM") else line.split("--from=")[1].split()[0]
            assert re.search(r":\d[\w.\-]*$", ref), f"unpinned base image {ref}"


def test_every_referenced_file_exists():
    for name, path in host_paths():
        assert path.exists(), f"{name} mounts {path}, which does not exist"
    for secret in COMPOSE["secrets"].values():
        # Secrets are made by the operator (docs/deployment.md) and git-ignored, never committed.
        assert secret["file"].startswith("./secrets/")
    assert "secrets/" in (DEPLOY / ".gitignore").read_text() and ".env" in (DEPLOY / ".gitignore").read_text()
    build = COMPOSE["x-app"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == REPO and (context / build["dockerfile"]).exists()
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for src in line.split()[1:-1]:
                assert (REPO / src).exists(), f"Dockerfile copies missing {src}"


def test_every_command_runs_a_module_that_exists():
    for name, svc in APPS.items():
        cmd = svc.get("command", [])
        if "-m" in cmd:
            module = cmd[cmd.index("-m") + 1]
            assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        elif svc.get("entrypoint"):
            assert "congvan backup" in " ".join(cmd)


def test_hubs_and_agencies_match_the_topology():
    from services.interconnect.topology import Topology

    topology = Topology.load(DEPLOY / "topology.json")
    hubs = {c[c.index("--hub") + 1] for n, s in APPS.items() if kind(n) == "hub" for c in [s["command"]]}
    assert hubs == {h.code for h in topology.hubs}
    agencies = {s["command"][-1] for n, s in APPS.items() if kind(n) == "agency"}
    edges = {c[c.index("--agency") + 1] for n, s in APPS.items() if kind(n) == "edge" for c in [s["command"]]}
    assert agencies == edges == {a.organ_id for a in topology.installations()}


@pytest.mark.parametrize("name", sorted(APPS))
def test_settings_of_each_process_are_complete_and_valid(name, monkeypatch):
    env = env_of(APPS[name])
    classes = classes_for(kind(name))
    known = {f.upper() for c in classes for f in c.model_fields} | EXTRA_VARS
    assert not set(env) - known, f"{name}: variables no settings class reads: {sorted(set(env) - known)}"
    missing = REQUIRED_BY_KIND[kind(name)] - set(env) - ({"AGENCY_ID"} if kind(name) == "agency" else set())
    assert not missing, f"{name}: production settings left at their embedded default: {sorted(missing)}"
    for key in list(__import__("os").environ):
        if key.lower() in {f for c in classes for f in c.model_fields}:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for cls in classes:
        settings = cls()                     # pydantic validates every value (types, literals, JSON lists)
        for field, info in cls.model_fields.items():
            assert not info.is_required() or field.upper() in env, f"{name}: {cls.__name__}.{field} is required"
        assert settings.database_url and settings.database_url.startswith("postgresql+psycopg://")


def test_prometheus_config_passes_promtool_and_scrapes_every_process(tmp_path):
    conf = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    mounts = dict(v.split(":")[:2][::-1] for v in SERVICES["prometheus"]["volumes"] if v.startswith("."))
    for rule in conf["rule_files"]:
        source = (DEPLOY / mounts[rule]).resolve()
        assert source.exists()
        shutil.copy(source, tmp_path / Path(rule).name)
    conf["rule_files"] = [str(tmp_path / Path(r).name) for r in conf["rule_files"]]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(conf))
    out = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    targets = {t.split(":")[0] for job in conf["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    long_running = {n for n in APPS if kind(n) in ("hub", "agency", "edge", "gateway")}
    assert long_running <= targets and targets <= set(SERVICES)


def test_grafana_mounts_match_the_provisioning():
    providers = yaml.safe_load((REPO / "infra/grafana/provisioning/dashboards/congvan.yml").read_text())["providers"]
    mounted = {v.split(":")[1] for v in SERVICES["grafana"]["volumes"]}
    assert {p["options"]["path"] for p in providers} <= mounted and "/etc/grafana/provisioning" in mounted
    url = yaml.safe_load((REPO / "infra/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert url["datasources"][0]["url"] == "http://prometheus:9090" and "prometheus" in SERVICES


def _mounts(service: dict) -> dict[str, str]:
    """Container path -> what provides it: a host path (volumes) or a compose secret's file."""
    out = {}
    for vol in service.get("volumes", []):
        src, target = vol.split(":")[:2]
        out[target] = src
    for secret in service.get("secrets", []):
        if isinstance(secret, dict):
            out[secret["target"]] = COMPOSE["secrets"][secret["source"]]["file"]
    return out


def _config_of(service: dict, target: str) -> str:
    return (DEPLOY / _mounts(service)[target]).read_text()


def _api_host(uri: str) -> str:
    return uri.split("@", 1)[1].split(":", 1)[0]


def test_each_hub_has_its_own_broker_linked_over_mutual_tls():
    """topology.json's `broker` of each hub is a RabbitMQ service here with the AMQP and AMQPS ports it names,
    EXTERNAL login by certificate, and every file its advanced.config names mounted (certificates as compose
    secrets under ./secrets/, never committed; the CRL directory); the hubs, provisioning and link guards agree."""
    from infra.deploy.launch import link_files
    from services.interconnect import broker
    from services.interconnect.topology import Topology

    topology = Topology.load(DEPLOY / "topology.json")
    provision = env_of(SERVICES["provision"])
    raw = SERVICES["provision"]["environment"]["HUB_RABBIT_API_URIS"]   # with the .env variables' names
    apis = dict(item.strip().split("=", 1) for item in raw.split(","))
    assert set(apis) == {h.code for h in topology.hubs}
    link_tls = link_files(topology, provision["LINK_TLS_DIR"])
    for hub in topology.hubs:
        host = hub.broker["host"]
        node = SERVICES[host]
        assert node["image"].startswith("rabbitmq:") and node["hostname"] == host
        conf = _config_of(node, "/etc/rabbitmq/rabbitmq.conf")
        assert f"listeners.tcp.default = {hub.broker['amqp_port']}" in conf
        assert f"listeners.ssl.default = {hub.broker['amqps_port']}" in conf
        assert "auth_mechanisms.3 = EXTERNAL" in conf and "ssl_cert_login_from = common_name" in conf
        assert "rabbitmq_auth_mechanism_ssl" in _config_of(node, "/etc/rabbitmq/enabled_plugins")
        advanced = _config_of(node, "/etc/rabbitmq/advanced.config")
        assert "{verify, verify_peer}" in advanced and "{fail_if_no_peer_cert, true}" in advanced
        assert "{crl_check, peer}" in advanced
        mounts = _mounts(node)
        for path in re.findall(r'"(/etc/rabbitmq/tls/[^"]+)"', advanced):
            assert path in mounts, f"{host}: {path} of advanced.config is not mounted"
            source = mounts[path]
            assert source.startswith("./secrets/") or (DEPLOY / source).is_dir(), (host, path, source)
        # Provisioning reaches this broker's management API; its admin password is the node's own.
        assert _api_host(apis[hub.code]) == host
        password = node.get("environment", {}).get("RABBITMQ_DEFAULT_PASS") or \
            COMPOSE["x-rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"]
        assert password.split(":?")[0] in apis[hub.code]
        # The hub's process: its queue gauges on its own broker, its link files where credentials.json says.
        service = SERVICES[f"hub-{hub.code.lower()}"]
        assert _api_host(env_of(service)["RABBIT_API_URI"]) == host
        hub_mounts = _mounts(service)
        files = link_tls[hub.code]
        assert Path(files["cert"]).name == f"{broker.hub_user(topology, hub.code)}.pem"   # CN = the hub's user
        for key in ("cert", "key", "ca"):
            assert hub_mounts.get(files[key], "").startswith("./secrets/links/"), (hub.code, key)
        assert files["crl"] in hub_mounts and hub_mounts[files["crl"]] == mounts["/etc/rabbitmq/tls/crl"]
        # The broker's link guard: its administrator, the same CRL directory.
        guard = SERVICES[f"linkguard-{hub.code.lower()}"]
        command = guard["command"]
        assert command[command.index("--hub") + 1] == hub.code
        crl_dir = command[command.index("--crl-dir") + 1]
        assert _mounts(guard)[crl_dir] == mounts["/etc/rabbitmq/tls/crl"]
        assert _api_host(env_of(guard)["RABBIT_API_URI"]) == host
    # Agencies connect to their own province's broker only: the cluster's nodes are the H60 hub's broker's.
    hosts = env_of(APPS["provision"]).get("AMQP_CLUSTER_HOSTS", "") or env_of(SERVICES["gateway"])["AMQP_CLUSTER_HOSTS"]
    assert topology.hub("H60").broker["host"] in hosts.split(",") and "rabbitmq-national" not in hosts
