"""The `congvan` command line as the README uses it: every area's commands are mounted."""

import subprocess
import sys

from typer.testing import CliRunner

from infra import cli


def test_every_plugin_registers_its_commands():
    cli._load_plugins()
    result = CliRunner().invoke(cli.app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("up", "down", "status", "test", "stack", "edxml", "directory", "storage", "pki",
                    "pdf", "dlq", "relaylog", "backup", "restore", "audit"):
        assert command in result.output, f"'{command}' missing from congvan --help"


def test_console_script_starts():
    out = subprocess.run([sys.executable, "-c", "from infra.cli import main; main()", "--help"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "Công Văn" in out.stdout
