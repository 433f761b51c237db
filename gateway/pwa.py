"""The installable web app (PWA): the manifest, the icons (drawn here at run time: a sheet of paper with a red seal
on the theme's blue, no artwork from anywhere) and the service worker (gateway/static/sw.js, served from / so that
it controls every page)."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse, Response

HERE = Path(__file__).resolve().parent
THEME = "#0b4f9c"
SIZES = (192, 512)

MANIFEST = {
    "id": "/",
    "name": "Công Văn · quản lý văn bản và điều hành",
    "short_name": "Công Văn",
    "description": "Văn bản đến, văn bản đi, xử lý và điều hành công việc của cơ quan",
    "lang": "vi",
    "dir": "ltr",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "orientation": "any",
    "background_color": "#f5f7fa",
    "theme_color": THEME,
    "icons": [
        *({"src": f"/icons/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png", "purpose": "any"} for n in SIZES),
        *({"src": f"/icons/maskable-{n}.png", "sizes": f"{n}x{n}", "type": "image/png", "purpose": "maskable"}
          for n in SIZES),
    ],
    "shortcuts": [
        {"name": "Văn bản cần xử lý", "url": "/xu-ly"},
        {"name": "Văn bản đến chờ tiếp nhận", "url": "/van-ban-den/cho-tiep-nhan"},
        {"name": "Tra cứu", "url": "/tra-cuu"},
    ],
}


@lru_cache(maxsize=8)
def icon_png(size: int, maskable: bool) -> bytes:
    """The icon: a white sheet with lines of text and a red seal, inside the maskable safe zone (the middle 80%)
    when the platform crops it to its own shape."""
    from PIL import Image, ImageDraw

    scale = 4  # drawn large, then reduced: smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=THEME)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 6, fill=THEME)
    inset = big * (0.24 if maskable else 0.18)
    left, top, right, bottom = inset + big * 0.06, inset, big - inset - big * 0.06, big - inset
    fold = (right - left) * 0.28
    draw.polygon([(left, top), (right - fold, top), (right, top + fold), (right, bottom), (left, bottom)],
                 fill="white")
    draw.polygon([(right - fold, top), (right - fold, top + fold), (right, top + fold)], fill="#c9d7ee")
    line = (bottom - top) / 9
    for i in range(4):
        y = top + line * (2 + 1.3 * i)
        draw.rounded_rectangle((left + line, y, right - line * (3 if i == 3 else 1), y + line * 0.45),
                               radius=line * 0.2, fill="#5b6575")
    r = (right - left) * 0.2
    cx, cy = right - r * 1.3, bottom - r * 1.3
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline="#b3261e", width=max(2, int(r * 0.22)))
    draw.ellipse((cx - r * 0.35, cy - r * 0.35, cx + r * 0.35, cy + r * 0.35), fill="#b3261e")
    out = io.BytesIO()
    image.resize((size, size), Image.LANCZOS).save(out, "PNG", optimize=True)
    return out.getvalue()


def install(app: FastAPI) -> None:
    @app.get("/manifest.webmanifest", include_in_schema=False)
    def manifest() -> JSONResponse:
        return JSONResponse(MANIFEST, media_type="application/manifest+json",
                            headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/icons/{kind}-{size}.png", include_in_schema=False)
    def icon(kind: str, size: int) -> Response:
        if kind not in ("icon", "maskable") or size not in SIZES:
            raise HTTPException(404)
        return Response(icon_png(size, kind == "maskable"), media_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        # From the site's root, so its scope is every page; never cached by the browser's HTTP cache, so that a new
        # version is picked up at the next visit.
        return Response((HERE / "static" / "sw.js").read_bytes(), media_type="text/javascript",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})
