"""`congvan edxml inspect` and `congvan directory import|lookup` through typer's CliRunner on our own app."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from services.interconnect import cli
from tests.interconnect.test_directory import DEMO_FILE
from tests.interconnect.test_edxml import CONFORMANCE


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    cli.register(app)
    return app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_inspect_prints_the_package_as_json(app, runner):
    result = runner.invoke(app, ["edxml", "inspect", str(CONFORMANCE / "vpcp-edoc_new.edxml")])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["kind"] == "edoc" and printed["namespace"].endswith("QCVN_102_2016")
    assert printed["header"]["code_number"] == "74fass22"
    (attachment,) = printed["header"]["attachments"]
    assert attachment["name"] == "1896_QD-TTg_m_294779.doc" and attachment["content_type"] == "application/msword"
    assert attachment["size"] == 388347 and len(attachment["sha256"]) == 64
    assert "data" not in attachment


def test_inspect_status_package(app, runner):
    result = runner.invoke(app, ["edxml", "inspect", str(CONFORMANCE / "bkav-status_processing_05.edxml")])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["header"]["status_code"] == "05"


def test_inspect_invalid_package_exits_non_zero_with_the_reason(app, runner, tmp_path):
    bad = tmp_path / "xxe.edxml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><edXML>&e;</edXML>')
    result = runner.invoke(app, ["edxml", "inspect", str(bad)])
    assert result.exit_code == 1
    assert "FORMAT_ERROR" in result.stderr and "DOCTYPE" in result.stderr
    assert result.stdout == ""
    missing = runner.invoke(app, ["edxml", "inspect", str(tmp_path / "khong-co.edxml")])
    assert missing.exit_code == 1 and "Không đọc được tệp" in missing.stderr


def test_directory_import_then_lookup_by_name_and_code(app, runner, tmp_path):
    where = ["--data-dir", str(tmp_path)]
    imported = runner.invoke(app, ["directory", "import", str(DEMO_FILE), *where])
    assert imported.exit_code == 0, imported.output
    assert "Đã nhập" in imported.stdout

    by_name = runner.invoke(app, ["directory", "lookup", "uy ban nhan dan tinh tuyen quang", *where])
    assert by_name.exit_code == 0
    assert by_name.stdout.splitlines()[0].startswith("000.00.00.H60")
    assert "Ủy ban nhân dân tỉnh Tuyên Quang" in by_name.stdout

    by_code = runner.invoke(app, ["directory", "lookup", "000.00.00.H22", "--json", *where])
    (record,) = json.loads(by_code.stdout)
    assert record["successor"] == "000.00.00.H60" and record["valid_to"] == "2025-06-30"

    nothing = runner.invoke(app, ["directory", "lookup", "không tồn tại", *where])
    assert nothing.exit_code == 1 and "Không tìm thấy" in nothing.stderr


def test_directory_import_of_a_bad_file_fails_cleanly(app, runner, tmp_path):
    bad = tmp_path / "sai.csv"
    bad.write_text("organ_id,name\n28.22.H17,Mã sai\n", encoding="utf-8")
    result = runner.invoke(app, ["directory", "import", str(bad), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "28.22.H17" in result.stderr


def test_directory_on_postgresql(app, runner, pg_url):
    where = ["--database-url", pg_url]
    assert runner.invoke(app, ["directory", "import", str(DEMO_FILE), *where]).exit_code == 0
    result = runner.invoke(app, ["directory", "lookup", "van phong chinh phu", *where])
    assert result.exit_code == 0 and result.stdout.startswith("000.00.00.G22")
