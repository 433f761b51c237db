"""`congvan agency` from a shell, on a throwaway DATA_DIR, with the installation's services away (an address nobody
answers): what the operator reads is a few Vietnamese lines, never pika's connection tracebacks; an empty platform
and a gateway without installations say so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

H60, NEW = "000.00.00.H60", "000.00.12.H60"


def _agency(tmp_path: Path, *args: str, agencies: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AGENCIES_FILE", "HUB_DIRECTORIES")}
    env.update({"DATA_DIR": str(tmp_path / "data"), "RPC_TIMEOUT": "2"})
    if agencies is not None:
        env["AGENCIES_FILE"] = str(agencies)
    return subprocess.run([sys.executable, "-m", "infra.cli", "agency", *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def test_adding_with_the_services_away_says_what_is_left_in_a_few_lines(tmp_path):
    agencies = tmp_path / "agencies.json"
    agencies.write_text(json.dumps({H60: {"name": "UBND tỉnh Tuyên Quang", "amqp_uri": "amqp://u:p@127.0.0.1:9/x"}}))
    added = _agency(tmp_path, "add", NEW, "--name", "Sở Xây dựng tỉnh Tuyên Quang", "--admin-name", "Trần Văn Bình",
                    "--admin-unit", "sxd", agencies=agencies)
    assert added.returncode == 0, added.stderr
    assert f"Đã thêm {NEW} Sở Xây dựng tỉnh Tuyên Quang" in added.stdout and "binhtv.sxd" in added.stdout
    assert "Cảnh báo: Chưa tạo được sổ văn bản" in added.stderr
    assert "Traceback" not in added.stderr and "pika" not in added.stderr
    assert len(added.stderr.splitlines()) <= 6, added.stderr
    listed = _agency(tmp_path, "list", agencies=agencies)
    assert NEW in listed.stdout and "đang sử dụng" in listed.stdout


def test_an_empty_platform_and_a_gateway_without_installations_say_so(tmp_path):
    empty = _agency(tmp_path, "list")
    assert empty.returncode == 0 and "Chưa có cơ quan nào trên nền tảng" in empty.stdout
    refused = _agency(tmp_path, "add", NEW, "--name", "Sở Xây dựng tỉnh Tuyên Quang")
    assert refused.returncode == 1
    assert "chưa có cụm máy chủ nào" in refused.stderr and "“”" not in refused.stderr
