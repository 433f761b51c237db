"""Independent agreement (issue 20 item 7): every PDF the product issues is judged the same by poppler's `pdfsig`
(NSS) and by the product's own verifier (pyHanko): per signature, intact or not, trusted or not; over every draft
layout the product knows (services.signing.specimens when present, else the sample drafts of one to three pages),
the leader-only revision, a sealed appendix, a tampered file and a file whose root is not trusted."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from services.signing import pki, sample
from tests.signing.conftest import LEADER
from tests.signing.test_flow import DATE, NUMBER, nss_db

try:  # the NĐ 30 layouts of item 4 (placement); the sample drafts until they exist
    from services.signing import specimens

    LAYOUTS = {key: make for key, make in specimens.all_drafts().items()}
except ImportError:
    LAYOUTS = {f"sample-{n}-trang": (lambda n=n: sample.draft_pdf(pages=n)) for n in (1, 2, 3)}


@pytest.fixture(scope="module")
def trusted_nss(test_pki, tmp_path_factory) -> Path:
    return nss_db(tmp_path_factory.mktemp("agree"), test_pki.root_pem)


def pdfsig_judgement(pdf: bytes, tmp: Path, nss: Path) -> dict[str, tuple[bool, bool]]:
    """field → (signature intact and valid, certificate trusted), as pdfsig reports it."""
    path = tmp / "judged.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True,
                          check=False, timeout=120).stdout
    out = {}
    for block in re.split(r"\n(?=Signature #\d+:)", text):
        field = re.search(r"Signature Field Name: (.+)", block)
        if field:
            out[field.group(1).strip()] = ("Signature Validation: Signature is Valid." in block,
                                           "Certificate Validation: Certificate is Trusted." in block)
    return out


def product_judgement(report: dict) -> dict[str, tuple[bool, bool]]:
    """The same facts from the product's report; a prepared field not yet signed counts as not valid."""
    judged = {s["field"]: (bool(s["intact"]) and s["modification_level"] != "OTHER", bool(s["trusted"]))
              for s in report["signatures"]}
    return {**{name: (False, False) for name in report["empty_signature_fields"]}, **judged}


def agree(signing, sha: str, tmp: Path, nss: Path) -> dict[str, tuple[bool, bool]]:
    pdf = signing.blobs.read(sha)
    ours = product_judgement(signing.verify(sha))
    theirs = pdfsig_judgement(pdf, tmp, nss)
    assert ours == theirs, f"product {ours} ≠ pdfsig {theirs}"
    return ours


@pytest.mark.parametrize("layout_key", sorted(LAYOUTS))
def test_every_issued_layout_is_judged_the_same(signing, layout_key, tmp_path, trusted_nss):
    draft = LAYOUTS[layout_key]()
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft).sha256)
    leader = signing.sign_leader(prepared["sha256"], LEADER, reason="Phê duyệt")
    assert agree(signing, leader["sha256"], tmp_path, trusted_nss) == {"LanhDao": (True, True),
                                                                         "DauCoQuan": (False, False)}
    appendix = signing.blobs.put_bytes(sample.appendix_pdf()).sha256
    issued = signing.fill_and_seal(leader["sha256"], NUMBER, DATE, "15/QĐ-UBND", [appendix])
    judged = agree(signing, issued["sha256"], tmp_path, trusted_nss)
    assert judged == {"LanhDao": (True, True), "DauCoQuan": (True, True)}
    assert set(agree(signing, issued["appendices"][0], tmp_path, trusted_nss).values()) == {(True, True)}


def test_a_tampered_or_untrusted_document_is_refused_by_both(signing, test_pki, draft_bytes, tmp_path,
                                                             trusted_nss):
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    leader = signing.sign_leader(prepared["sha256"], LEADER)
    issued = signing.fill_and_seal(leader["sha256"], NUMBER, DATE, "15/QĐ-UBND")
    pdf = bytearray(signing.blobs.read(issued["sha256"]))
    pdf[pdf.index(b"stream", pdf.index(b"/Filter")) + 40] ^= 0x01  # in the draft's content: under both signatures
    flipped = signing.blobs.put_bytes(bytes(pdf)).sha256
    judged = agree(signing, flipped, tmp_path, trusted_nss)
    assert judged and not any(ok for ok, _ in judged.values())

    other = pki.init_pki(tmp_path / "other-pki", [])
    (tmp_path / "stranger").mkdir()
    stranger_nss = nss_db(tmp_path / "stranger", other.root_pem)
    signing.settings.signing_trust_roots = [other.root_pem]
    judged = agree(signing, issued["sha256"], tmp_path, stranger_nss)
    assert judged == {"LanhDao": (True, False), "DauCoQuan": (True, False)}
