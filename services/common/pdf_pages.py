"""The text of every page of a PDF: its text layer (pdftotext), and for a page without one (a scan) Tesseract with
Vietnamese data on the page rendered by pdftoppm. Used off the request path (routing's scan check,
services/routing/scan_check.py), like the registry's search extraction (services/registry/search.py).

Every tool runs as a child process at a lower priority (nice): OCR takes seconds of CPU per page and must not slow
the pages and RPCs the same machine serves; and a child process keeps the CPU and any crash out of the service's
(eventlet) interpreter. Scratch files are named "congvan-ocr-…" like the registry's, so the ones a killed process
left behind are recognisable.
"""

from __future__ import annotations

import io
import logging
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pikepdf

log = logging.getLogger(__name__)

OCR_DPI = 200
OCR_TIMEOUT = 90        # seconds per page; a page that takes longer is left unread
TEXT_TIMEOUT = 60
MIN_TEXT = 40           # fewer characters in a page's text layer than this: a scanned page, read by OCR
NICE = ["nice", "-n", "10"]


class OutOfTime(Exception):
    """The caller's time budget (`deadline`) ran out before every page was read."""


@dataclass(frozen=True)
class PageText:
    text: str
    how: str        # "text" (the text layer), "ocr" (Tesseract), "" (nothing could be read)


def page_count(pdf: bytes) -> int:
    """The number of pages; raises pikepdf.PdfError (or PasswordError) for a file that is no readable PDF."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


def run_tool(args: list[str], timeout: float, nice: bool = True) -> str:
    """A tool's standard output ("" when it failed or outlasted `timeout`), niced unless a person waits for it."""
    try:
        run = subprocess.run([*NICE, *args] if nice else args, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("%s failed: %s", args[0], exc)
        return ""
    if run.returncode != 0:
        log.warning("%s exited %s: %s", args[0], run.returncode, run.stderr[:300])
    return run.stdout.decode("utf-8", "replace")


def page_texts(pdf: bytes, pages: int, deadline: float | None = None) -> list[PageText]:
    """The text of pages 1..`pages` (the caller counted them with page_count and bounded them). `deadline`
    (time.monotonic()): OutOfTime once it has passed, so that many pages of OCR cannot hold the caller for hours."""
    with tempfile.TemporaryDirectory(prefix="congvan-ocr-") as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(pdf)
        # pdftotext ends every page with a form feed: one run for the whole file
        layer = run_tool(["pdftotext", "-enc", "UTF-8", str(path), "-"], TEXT_TIMEOUT).split("\f")
        found = []
        for number in range(1, pages + 1):
            text = layer[number - 1] if number <= len(layer) else ""
            found.append(PageText(text, "text") if len(text.strip()) >= MIN_TEXT
                         else _ocr(path, number, text, deadline))
        return found


def _check(deadline: float | None) -> None:
    """OutOfTime once the caller's deadline has passed."""
    if deadline is not None and time.monotonic() >= deadline:
        raise OutOfTime


def _left(deadline: float | None) -> float:
    """Seconds a tool may take: OCR_TIMEOUT, or less when the caller's deadline is nearer (OutOfTime once passed)."""
    _check(deadline)
    return OCR_TIMEOUT if deadline is None else min(OCR_TIMEOUT, deadline - time.monotonic())


def _ocr(path: Path, number: int, layer: str, deadline: float | None = None) -> PageText:
    stem = path.parent / f"page-{number}"
    run_tool(["pdftoppm", "-r", str(OCR_DPI), "-gray", "-png", "-singlefile", "-f", str(number), "-l", str(number),
              str(path), str(stem)], _left(deadline))
    image = stem.with_suffix(".png")
    if not image.exists():  # the page could not be rendered
        _check(deadline)    # if the deadline cut pdftoppm short, that is OutOfTime, not "unreadable"
        return PageText(layer, "")
    text = run_tool(["tesseract", str(image), "stdout", "-l", "vie"], _left(deadline))
    image.unlink()
    if not text.strip():
        _check(deadline)    # the same for tesseract
    return PageText(text, "ocr") if text.strip() else PageText(layer, "")
