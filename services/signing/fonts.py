"""Fonts for stamps: DejaVu rescaled to 1000 units per em, made once per data dir at run time.

pyHanko 0.38's GlyphAccumulator writes glyph widths in raw font units while PDF expects 1/1000 em; DejaVu has
2048 units per em, so its text would render with about twice the letter spacing (notes/feasibility.md §4).
Rescaling the font to 1000 units with fontTools removes the problem. Fonts are never committed: they are
taken from the system (Debian fonts-dejavu-core) and written under the data directory.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

from services.common.errors import CongVanError

SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SERIF = "DejaVuSerif.ttf"
SERIF_BOLD = "DejaVuSerif-Bold.ttf"
SERIF_ITALIC = "DejaVuSerif-Italic.ttf"
SANS = "DejaVuSans.ttf"

_lock = threading.Lock()

# The subsetter logs "FFTM NOT subset; don't know how to subset; dropped" on every signature.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class FontMissing(CongVanError):
    code = "font_missing"
    http_status = 500


def system_font(name: str) -> Path:
    path = SYSTEM_FONT_DIR / name
    if not path.exists():
        raise FontMissing("Thiếu phông chữ tiếng Việt trên máy chủ (cần gói fonts-dejavu-core).", font=str(path))
    return path


def stamp_font(cache_dir: Path, name: str = SERIF) -> Path:
    """Path of `name` rescaled to 1000 units per em under cache_dir (created on first use)."""
    target = Path(cache_dir) / f"{Path(name).stem}-1000.ttf"
    if target.exists():
        return target
    with _lock:
        if target.exists():
            return target
        from fontTools.ttLib import TTFont
        from fontTools.ttLib.scaleUpem import scale_upem

        font = TTFont(system_font(name))
        scale_upem(font, 1000)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".ttf")
        os.close(fd)
        font.save(tmp)
        os.replace(tmp, target)  # concurrent processes never read a half-written font
    return target
