"""Export of a closed dossier, in the spirit of E-ARK CSIP (STANDARDS.md §5.2):

    <OBJID>/METS.xml                         fileSec with SHA-256 of every file, dmdSec (NĐ 30 Mục III), PREMIS
    <OBJID>/representations/rep1/data/NNN-<sha12>.<ext>   each file as stored, named by ordinal
    <OBJID>/representations/rep1/data/hoso.pdf            all PDFs in chronological order, one file

The per-file hashes are those of the stored blobs, so the archive can check fixity against the source.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pikepdf

from services.common.actor import Actor
from services.common.db import Database
from services.registry import dossiers as dz

Fetch = Callable[[str], bytes]
Put = Callable[[bytes], str]        # bytes -> sha256 (the agency's blob store), so other processes can serve them
METS = "http://www.loc.gov/METS/"
PREMIS = "http://www.loc.gov/premis/v3"
XLINK = "http://www.w3.org/1999/xlink"
DC = "http://purl.org/dc/elements/1.1/"
for prefix, uri in (("mets", METS), ("premis", PREMIS), ("xlink", XLINK), ("dc", DC)):
    ET.register_namespace(prefix, uri)


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def merge_pdfs(parts: list[bytes]) -> bytes:
    merged = pikepdf.new()
    sources = []
    for data in parts:
        src = pikepdf.open(io.BytesIO(data))
        sources.append(src)
        merged.pages.extend(src.pages)
    out = io.BytesIO()
    merged.save(out)
    for src in sources:
        src.close()
    return out.getvalue()


def export_dossier(db: Database, actor: Actor, dossier_id: str, fetch: Fetch, out_dir: Path,
                   put: Put | None = None) -> dict[str, Any]:
    """Writes the package under out_dir; with `put`, also stores hoso.pdf, METS.xml and the whole package as a zip
    in the blob store (the gateway serves the downloads from there)."""
    dossier, items = dz.closed_dossier_files(db, actor, dossier_id)
    objid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"congvan:dossier:{dossier['id']}")).upper()
    root = Path(out_dir) / objid
    data_dir = root / "representations" / "rep1" / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    chronological = sorted(items, key=lambda i: (i["item_date"] or "9999", i["ordinal"]))
    files, pdf_parts = [], []
    for item in chronological:
        if not item["sha256"]:
            continue
        blob = fetch(item["sha256"])
        is_pdf = blob.startswith(b"%PDF")
        name = f"{item['ordinal']:03d}-{item['sha256'][:12]}.{'pdf' if is_pdf else 'bin'}"
        (data_dir / name).write_bytes(blob)
        files.append({**item, "href": f"representations/rep1/data/{name}", "size": len(blob),
                      "sha256_actual": hashlib.sha256(blob).hexdigest()})
        if is_pdf:
            pdf_parts.append(blob)
    combined = merge_pdfs(pdf_parts) if pdf_parts else b""
    (data_dir / "hoso.pdf").write_bytes(combined)
    combined_sha = hashlib.sha256(combined).hexdigest()
    mets = build_mets(objid, dossier, files, combined_sha, len(combined))
    (root / "METS.xml").write_bytes(mets)
    result = {"objid": objid, "path": str(root), "mets": str(root / "METS.xml"), "pdf": str(data_dir / "hoso.pdf"),
              "pdf_sha256": combined_sha, "files": [{"href": f["href"], "sha256": f["sha256_actual"]} for f in files]}
    if put is not None:
        result["blobs"] = {"pdf": put(combined), "mets": put(mets), "zip": put(package_zip(root))}
    return result


def package_zip(root: Path) -> bytes:
    """The package folder as one zip, paths starting with <OBJID>/ (stored: PDFs do not compress)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            zf.write(path, f"{root.name}/{path.relative_to(root).as_posix()}")
    return out.getvalue()


def build_mets(objid: str, dossier: dict[str, Any], files: list[dict[str, Any]], combined_sha: str,
               combined_size: int) -> bytes:
    mets = ET.Element(_q(METS, "mets"), {"OBJID": objid, "TYPE": "Hồ sơ công việc", "PROFILE":
                                         "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"})
    hdr = ET.SubElement(mets, _q(METS, "metsHdr"), {"CREATEDATE": datetime.now(UTC).isoformat(timespec="seconds")})
    agent = ET.SubElement(hdr, _q(METS, "agent"), {"ROLE": "CREATOR", "TYPE": "ORGANIZATION"})
    ET.SubElement(agent, _q(METS, "name")).text = dossier["file_code"]["organ_id"]
    _dmd(mets, dossier)
    _premis(mets, files, combined_sha, combined_size)
    file_sec = ET.SubElement(mets, _q(METS, "fileSec"))
    group = ET.SubElement(file_sec, _q(METS, "fileGrp"), {"USE": "Representations/rep1/Data"})
    struct = ET.SubElement(mets, _q(METS, "structMap"), {"TYPE": "PHYSICAL", "LABEL": "CSIP"})
    top = ET.SubElement(struct, _q(METS, "div"), {"LABEL": dossier["title"]})
    entries = [*files, {"href": "representations/rep1/data/hoso.pdf", "sha256_actual": combined_sha,
                        "size": combined_size, "ordinal": 0, "title": "Toàn văn hồ sơ (theo thứ tự thời gian)"}]
    for n, f in enumerate(entries, start=1):
        file_id = f"FILE-{n:03d}"
        el = ET.SubElement(group, _q(METS, "file"), {
            "ID": file_id,
            "MIMETYPE": "application/pdf" if f["href"].endswith(".pdf") else "application/octet-stream",
            "SIZE": str(f["size"]), "CHECKSUM": f["sha256_actual"], "CHECKSUMTYPE": "SHA-256",
            "ADMID": f"PREMIS-{n:03d}"})
        ET.SubElement(el, _q(METS, "FLocat"), {"LOCTYPE": "URL", _q(XLINK, "type"): "simple",
                                               _q(XLINK, "href"): f["href"]})
        div = ET.SubElement(top, _q(METS, "div"), {"ORDER": str(f["ordinal"]), "LABEL": f["title"][:200]})
        ET.SubElement(div, _q(METS, "fptr"), {"FILEID": file_id})
    return ET.tostring(mets, encoding="utf-8", xml_declaration=True)


def _dmd(mets: ET.Element, dossier: dict[str, Any]) -> None:
    """Mục III of NĐ 30 Phụ lục VI, with the field names of the decree, plus Dublin Core title/date."""
    dmd = ET.SubElement(mets, _q(METS, "dmdSec"), {"ID": "DMD-HOSO"})
    wrap = ET.SubElement(dmd, _q(METS, "mdWrap"), {"MDTYPE": "OTHER", "OTHERMDTYPE": "ND30-PL6-MucIII"})
    xml = ET.SubElement(ET.SubElement(wrap, _q(METS, "xmlData")), "HoSo")
    code = ET.SubElement(xml, "FileCode")
    for key, tag in (("organ_id", "OrganId"), ("file_catalog", "FileCatalog"), ("file_notation", "FileNotation")):
        ET.SubElement(code, tag).text = str(dossier["file_code"][key])
    for key, tag in (("title", "Title"), ("retention_label", "Maintenance"), ("rights", "Rights"),
                     ("creator_name", "Creator"), ("language", "Language"), ("start_date", "StartDate"),
                     ("end_date", "EndDate"), ("doc_total", "DocTotal"), ("page_total", "PageTotal"),
                     ("description", "Description")):
        ET.SubElement(xml, tag).text = "" if dossier[key] is None else str(dossier[key])
    ET.SubElement(xml, _q(DC, "title")).text = dossier["title"]


def _premis(mets: ET.Element, files: list[dict[str, Any]], combined_sha: str, combined_size: int) -> None:
    amd = ET.SubElement(mets, _q(METS, "amdSec"))
    entries = [*files, {"sha256_actual": combined_sha, "size": combined_size, "href": "hoso.pdf"}]
    for n, f in enumerate(entries, start=1):
        tech = ET.SubElement(amd, _q(METS, "techMD"), {"ID": f"PREMIS-{n:03d}"})
        wrap = ET.SubElement(tech, _q(METS, "mdWrap"), {"MDTYPE": "PREMIS:OBJECT"})
        obj = ET.SubElement(ET.SubElement(wrap, _q(METS, "xmlData")), _q(PREMIS, "object"))
        ident = ET.SubElement(obj, _q(PREMIS, "objectIdentifier"))
        ET.SubElement(ident, _q(PREMIS, "objectIdentifierType")).text = "SHA-256"
        ET.SubElement(ident, _q(PREMIS, "objectIdentifierValue")).text = f["sha256_actual"]
        chars = ET.SubElement(obj, _q(PREMIS, "objectCharacteristics"))
        fixity = ET.SubElement(chars, _q(PREMIS, "fixity"))
        ET.SubElement(fixity, _q(PREMIS, "messageDigestAlgorithm")).text = "SHA-256"
        ET.SubElement(fixity, _q(PREMIS, "messageDigest")).text = f["sha256_actual"]
        ET.SubElement(chars, _q(PREMIS, "size")).text = str(f["size"])
