"""Fixtures of the signing tests: one test PKI per session (generated, never committed), a workflow per test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from infra.procs import free_port
from services.common.db import Database
from services.common.rpc_client import ServiceClient
from services.interconnect.topology import DEMO
from services.signing import models, pki, sample
from services.signing.settings import SigningSettings
from services.signing.workflow import Signing
from tests.agency import running_agency_process

AGENCY = "000.00.00.H60"
LEADER = "annv.ubnd"


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory) -> pki.Pki:
    return pki.init_pki(tmp_path_factory.mktemp("pki"), pki.demo_agencies(DEMO.agencies))


@pytest.fixture(scope="session")
def font_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fonts")


def make_settings(test_pki: pki.Pki, data_dir: Path, font_dir: Path, **more) -> SigningSettings:
    # the rescaled fonts are shared between tests: rescaling takes about a second
    (data_dir / "fonts").symlink_to(font_dir, target_is_directory=True)
    return SigningSettings(agency_id=AGENCY, data_dir=data_dir, signing_pki_dir=test_pki.dir, **more)


@pytest.fixture
def settings(test_pki, tmp_path, font_dir) -> SigningSettings:
    return make_settings(test_pki, tmp_path, font_dir)


@pytest.fixture
def signing(settings) -> Iterator[Signing]:
    db = Database("signing", AGENCY, models.Base.metadata, settings)
    db.create_all()
    yield Signing(settings, db)
    db.dispose()


@pytest.fixture(scope="session")
def draft_bytes() -> bytes:
    return sample.draft_pdf()


@pytest.fixture
def signing_process(fresh_vhost, settings):
    env = {**os.environ, "DATA_DIR": str(settings.data_dir), "SIGNING_PKI_DIR": str(settings.pki_dir)}
    with running_agency_process("services.signing.service:SigningService", fresh_vhost,
                                settings.data_dir / "agency.log", env, agency=AGENCY, ready_timeout=60) as port:
        client = ServiceClient(fresh_vhost, size=2, timeout=60)
        try:
            yield client, port
        finally:
            client.close()


SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory) -> Iterator[str]:
    """One SoftHSM2 token directory for the session (the module reads SOFTHSM2_CONF once per process); tests add
    their own tokens with pkcs11.provision_issued under labels of their own."""
    from services.signing.pkcs11 import softhsm_conf

    if not Path(SOFTHSM_MODULE).exists():
        pytest.skip("softhsm2 is in infra/stack.py APT_PACKAGES")
    conf = softhsm_conf(tmp_path_factory.mktemp("softhsm") / "tokens")
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    yield SOFTHSM_MODULE
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


@contextmanager
def local_server(module: str, *args: str) -> Iterator[int]:
    """`python -m module --port N *args` until the block ends; yields N once it listens (a start-up wait)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", module, "--port", str(port), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{module} did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
