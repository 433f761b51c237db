"""DOCX/ODT drafts → PDF with LibreOffice headless, before the signature fields are prepared.

The type is read from the content, never from a name: a PDF starts with `%PDF`; an ODT is a ZIP whose first
entry `mimetype` says `application/vnd.oasis.opendocument.text`; a DOCX is a ZIP with `[Content_Types].xml` and
`word/document.xml`. The ZIP and its main XML are checked here first (size-bounded, well-formed), because
LibreOffice opens a broken file as plain text and would happily "convert" the garbage.

Each conversion runs in its own temporary directory with its own LibreOffice profile
(`-env:UserInstallation=file://...`): two conversions never share a profile lock, and nothing is left behind.
A conversion that takes longer than the timeout is killed with its whole process group (soffice forks).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import zipfile
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml

from services.common.errors import CongVanError, ValidationFailed

PDF, DOCX, ODT = "pdf", "docx", "odt"
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
MAIN_PART = {DOCX: "word/document.xml", ODT: "content.xml"}
MAX_UNPACKED = 200 * 1024 * 1024  # a draft is text and a few images; more is a zip bomb
LABELS = {DOCX: "DOCX", ODT: "ODT"}

# LibreOffice is heavy (one core, ~200 MB per conversion): one at a time per process on small servers.
_one_at_a_time = threading.Semaphore(int(os.environ.get("SIGNING_CONVERT_CONCURRENCY", "1")))


class ConverterUnavailable(CongVanError):
    code = "no_converter"
    http_status = 503


def detect(data: bytes) -> str | None:
    """pdf | docx | odt | None (anything else), from the bytes."""
    if data[:1024].lstrip().startswith(b"%PDF"):
        return PDF
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if "mimetype" in names and z.read("mimetype").strip() == ODT_MIMETYPE:
                return ODT
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return None


def looks_like_office(data: bytes) -> bool:
    """A ZIP at all: a broken DOCX/ODT still deserves the "broken" message, not "wrong type"."""
    return data.startswith(b"PK\x03\x04")


def check_package(data: bytes, kind: str) -> None:
    """The ZIP is intact, not a bomb, and its main XML is well-formed; else a Vietnamese error."""
    label = LABELS[kind]
    broken = f"Tệp {label} bị hỏng hoặc không đúng định dạng, không chuyển được sang PDF. Hãy lưu lại tệp " \
             f"bằng trình soạn thảo rồi tải lên lần nữa, hoặc tải lên tệp PDF."
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED:
                raise ValidationFailed(f"Tệp {label} quá lớn khi giải nén; hãy tải lên tệp PDF.", code="too_large")
            bad = z.testzip()
            if bad is not None:
                raise ValidationFailed(broken, code="broken_document", part=bad)
            parse_xml(z.read(MAIN_PART[kind]))  # entities and DTDs refused: OOXML/ODF never need them
    except ValidationFailed:
        raise
    except (zipfile.BadZipFile, KeyError, ParseError, DefusedXmlException, OSError, ValueError, EOFError) as exc:
        raise ValidationFailed(broken, code="broken_document", error=f"{type(exc).__name__}: {exc}") from exc


def soffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path is None:
        raise ConverterUnavailable("Máy chủ chưa cài LibreOffice để chuyển DOCX/ODT sang PDF; hãy tải lên tệp PDF.",
                                   package="libreoffice-writer-nogui")
    return path


def to_pdf(data: bytes, kind: str, timeout: float = 120) -> bytes:
    """The PDF LibreOffice makes of a DOCX/ODT (checked first); Vietnamese errors for broken or slow files."""
    check_package(data, kind)
    label = LABELS[kind]
    with _one_at_a_time, tempfile.TemporaryDirectory(prefix="congvan-convert-") as tmp:
        work = Path(tmp)
        source = work / f"draft.{kind}"
        source.write_bytes(data)
        profile = work / "profile"
        cmd = [soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--nologo",
               "--nolockcheck", "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(work / "out"), str(source)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "HOME": str(work)})
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            raise ValidationFailed(f"Chuyển tệp {label} sang PDF quá {timeout:g} giây nên đã dừng; hãy tải lên "
                                   f"tệp PDF.", code="convert_timeout", seconds=timeout) from exc
        finally:
            _kill_group(proc)
        result = work / "out" / "draft.pdf"
        if proc.returncode != 0 or not result.exists() or not result.read_bytes().startswith(b"%PDF"):
            raise ValidationFailed(f"Không chuyển được tệp {label} sang PDF (tệp bị hỏng hoặc có nội dung không "
                                   f"đọc được). Hãy tải lên tệp PDF.", code="convert_failed",
                                   returncode=proc.returncode, output=output.decode(errors="replace")[-500:])
        return result.read_bytes()


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the conversion's whole session: soffice.bin may outlive the launcher script."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait()
