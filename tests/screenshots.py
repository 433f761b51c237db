"""Where the browser tests' screenshots go: always tests/artifacts/, and docs/screenshots/ only when asked.

The test command must leave every tracked file as it was (infra/testrun.py checks it), so the screenshots shown in
the README and the user guide are refreshed on purpose, with `./congvan screenshots`, which runs the browser tests
that take them with PUBLISH_ENV set; the changed PNGs are then committed like any other change.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

PUBLISH_ENV = "CONGVAN_PUBLISH_SCREENSHOTS"
DOCS_SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def publish(paths: Iterable[Path], docs_dir: Path = DOCS_SHOTS) -> list[Path]:
    """Copy the screenshots into docs_dir if PUBLISH_ENV is "1"; returns what was written (nothing otherwise)."""
    if os.environ.get(PUBLISH_ENV) != "1":
        return []
    docs_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        shutil.copyfile(path, docs_dir / path.name)
        written.append(docs_dir / path.name)
    return written
