"""Long-term validity (issue 20 item 6): with a TSA, the issued PDF is PAdES B-LT (certificates and CRLs in the DSS)
and B-LTA (a document time stamp); it verifies from what it carries alone, without any CRL file or server; and
`archive refresh` adds a new archive time stamp to the documents whose stamp expires within the window."""

from __future__ import annotations

import io

from pyhanko.pdf_utils.reader import PdfFileReader

from services.common.clock import now_utc
from services.signing import ltv
from services.signing.verify import TrustStore, trust_store
from tests.signing.test_flow import issue
from tests.signing.test_keys_tsa import tsa_url  # noqa: F401  (the local RFC 3161 TSA over HTTP)


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf), strict=False)


def test_issue_with_a_tsa_is_b_lta_and_verifies_offline_from_the_pdf_alone(signing, draft_bytes, tsa_url):  # noqa: F811
    signing.settings.signing_tsa_url = tsa_url
    sha = issue(signing, draft_bytes)["sha256"]
    pdf = signing.blobs.read(sha)
    reader = _reader(pdf)
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 3 and len(dss["/CRLs"]) >= 2  # leader, seal, CAs, TSA; both CAs' CRLs
    assert len(list(reader.embedded_timestamp_signatures)) == 1  # the B-LTA document time stamp
    assert signing.verify(sha)["verdict"] == "valid"

    settings_store = trust_store(signing.settings)
    offline = TrustStore(roots=settings_store.roots, intermediates=[], crls=[], allow_fetching=False)
    results = ltv.validate(pdf, offline, at=now_utc())
    assert {r.field for r in results} == {"LanhDao", "DauCoQuan"}
    assert all(r.valid_when_signed and r.status == "passed" for r in results), results


def test_without_the_dss_the_same_signatures_cannot_be_judged_offline(signing, draft_bytes):
    """The test above can fail: a B-B document (no TSA, no DSS) is not 'valid when signed' from the PDF alone."""
    pdf = signing.blobs.read(issue(signing, draft_bytes)["sha256"])
    offline = TrustStore(roots=trust_store(signing.settings).roots, crls=[], allow_fetching=False)
    assert not any(r.valid_when_signed for r in ltv.validate(pdf, offline, at=now_utc()))


def test_archive_refresh_restamps_what_expires_within_the_window(signing, draft_bytes, tsa_url):  # noqa: F811
    signing.settings.signing_tsa_url = tsa_url
    sha = issue(signing, draft_bytes)["sha256"]
    assert signing.refresh_archive(within_days=0) == {"refreshed": [], "failed": []}  # the stamp lasts years

    report = signing.refresh_archive(within_days=20 * 365)
    assert [r["sha256"] for r in report["refreshed"]] == [sha] and report["failed"] == []
    latest = report["refreshed"][0]["current"]
    refreshed = signing.blobs.read(latest)
    assert refreshed.startswith(signing.blobs.read(sha))  # an incremental update: the issued bytes are kept
    assert len(list(_reader(refreshed).embedded_timestamp_signatures)) == 2
    assert signing.verify(latest)["verdict"] == "valid"
    assert all(r["valid_when_signed"] for r in signing.verify_long_term(sha))  # follows the chain to `latest`
