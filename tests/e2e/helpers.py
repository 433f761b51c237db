"""Helpers for driving the gateway over HTTP in end-to-end tests."""

from __future__ import annotations

import io
import re
import time

import httpx
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def vietnamese_pdf(title: str, body: str) -> bytes:
    if "DejaVuSerif" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSerif", FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("DejaVuSerif", 13)
    c.drawString(72, 770, title)
    c.setFont("DejaVuSerif", 11)
    for i, line in enumerate(body.splitlines()):
        c.drawString(72, 740 - 16 * i, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def signed_in(base_url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
    r = client.post("/dang-nhap", data={"username": username, "password": password, "next": "/"})
    assert r.status_code == 303, f"login of {username} failed: {r.status_code} {r.text[:500]}"
    return client


def wait_for(predicate, timeout: float, what: str, every: float = 0.5):
    """Poll until predicate() returns something truthy (delivery is asynchronous); bounded, never a timing check."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")
