"""Fonts for stamps: Liberation Serif (NĐ 30: Times New Roman; Liberation has its metrics and the Vietnamese
letters) rescaled to 1000 units per em, made once per data dir at run time. DejaVu draws the generated images.

pyHanko 0.38's GlyphAccumulator writes glyph widths in raw font units while PDF expects 1/1000 em; both fonts have
2048 units per em, so their text would render with about twice the letter spacing (notes/feasibility.md §4).
Rescaling the font to 1000 units with fontTools removes the problem. Fonts are never committed: they are
taken from the system (Debian fonts-liberation2, fonts-dejavu-core) and written under the data directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path

from services.common.errors import CongVanError

SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
LIBERATION_DIR = Path("/usr/share/fonts/truetype/liberation2")
SERIF = "DejaVuSerif.ttf"
SERIF_BOLD = "DejaVuSerif-Bold.ttf"
SERIF_ITALIC = "DejaVuSerif-Italic.ttf"
SANS = "DejaVuSans.ttf"
TIMES = "LiberationSerif-Regular.ttf"      # the stamps' text: number, date, name, time

_lock = threading.Lock()

# The subsetter logs "FFTM NOT subset; don't know how to subset; dropped" on every signature.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class FontMissing(CongVanError):
    code = "font_missing"
    http_status = 500


def system_font(name: str) -> Path:
    path = (LIBERATION_DIR if name.startswith("Liberation") else SYSTEM_FONT_DIR) / name
    if not path.exists():
        raise FontMissing("Thiếu phông chữ tiếng Việt trên máy chủ (cần gói fonts-liberation2 và "
                          "fonts-dejavu-core).", font=str(path))
    return path


# Tables a stamp does not need: OpenType layout (kerning, ligatures: Vietnamese letters are precomposed glyphs in
# DejaVu and HarfBuzz composes NFD input from the cmap) and FontForge's timestamp. pyHanko re-reads the font and
# fontTools re-subsets it on every signature; GPOS alone was ~15 % of a leader signature's CPU time.
STAMP_DROP_TABLES = ("GPOS", "GSUB", "GDEF", "FFTM")
_STAMP_RECIPE = b"upem=1000;drop=" + ",".join(STAMP_DROP_TABLES).encode()
_stamp_paths: dict[tuple[str, str], Path] = {}


def stamp_font(cache_dir: Path, name: str = TIMES) -> Path:
    """Path of `name` rescaled to 1000 units per em under cache_dir (created on first use).

    The file is named after the SHA-256 of the system font and the recipe: a font updated by Debian, or a
    changed recipe, makes a new file instead of reusing a stale one. Looked up once per process.
    """
    key = (str(cache_dir), name)
    known = _stamp_paths.get(key)
    if known is not None and known.exists():
        return known
    source = system_font(name)
    digest = hashlib.sha256(source.read_bytes() + _STAMP_RECIPE).hexdigest()[:16]
    target = Path(cache_dir) / f"{Path(name).stem}-1000-{digest}.ttf"
    if not target.exists():
        with _lock:
            if not target.exists():
                _make_stamp_font(source, target)
    _stamp_paths[key] = target
    return target


def _make_stamp_font(source: Path, target: Path) -> None:
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    font = TTFont(source)
    scale_upem(font, 1000)
    for tag in STAMP_DROP_TABLES:
        if tag in font:
            del font[tag]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".ttf")
    os.close(fd)
    font.save(tmp)
    os.replace(tmp, target)  # concurrent processes never read a half-written font
