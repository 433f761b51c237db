"""axe-core, the accessibility checker the browser tests run in each page (WCAG 2.0 A and AA rules).

It comes from the npm registry at a pinned version, installed with the machine's npm into var/cache (never committed,
never a node_modules in the tree). `./congvan test` installs it before the tests; a test run without npm skips the
accessibility crawl and says so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AXE_VERSION = "4.14.1"
CACHE = REPO / "var" / "cache" / f"axe-core-{AXE_VERSION}"


def axe_script() -> Path:
    return CACHE / "node_modules" / "axe-core" / "axe.min.js"


def ensure_axe() -> Path | None:
    """The path of axe.min.js, installed if missing; None where npm is not available."""
    script = axe_script()
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--ignore-scripts",
                    "--loglevel=error", f"axe-core@{AXE_VERSION}"], check=False)
    return script if script.exists() else None
