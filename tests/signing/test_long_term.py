"""Long-term validity (issue 20 item 6): with a TSA, the issued PDF is PAdES B-LT (certificates and CRLs in the DSS)
and B-LTA (a document time stamp); it verifies from what it carries alone, without any CRL file or server; and
`archive refresh` adds a new archive time stamp to the documents whose stamp expires within the window."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import time_machine
from pyhanko.pdf_utils.reader import PdfFileReader

from services.common.clock import now_utc
from services.common.db import Database
from services.interconnect.topology import DEMO
from services.signing import archive, ltv, models, pki, tsa
from services.signing.verify import TrustStore, trust_store
from services.signing.workflow import Signing
from tests.signing.conftest import AGENCY, local_server, make_settings
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


# -- Fifteen years on (issue 20 item 6) ---------------------------------------------------------------------------
# The clock really moves (time-machine patches the process's clock, which pyHanko and `cryptography` read): the
# document is issued today with the local TSA over HTTP; every two and a half years the TSA renews its certificate
# (`congvan pki renew-tsa`), the CAs publish new CRLs and `archive refresh` stamps the archived PDF again with the
# new TSA; fifteen years on the leader's and seal certificates expired twelve years ago, the CRL files are gone
# and the network is cut, and the document must still say it was valid when signed.

YEAR = timedelta(days=365)
RENEWALS = (2.5, 5, 7.5, 10, 12.5)


@pytest.fixture
def own_pki(tmp_path) -> pki.Pki:
    """A PKI of this test's own: it renews the TSA and rewrites the CRLs, which the session's PKI must not see."""
    return pki.init_pki(tmp_path / "pki", pki.demo_agencies(DEMO.agencies))


@pytest.fixture
def long_signing(own_pki, tmp_path, font_dir) -> Iterator[Signing]:
    data = tmp_path / "data"
    data.mkdir()
    settings = make_settings(own_pki, data, font_dir)
    db = Database("signing", AGENCY, models.Base.metadata, settings)
    db.create_all()
    yield Signing(settings, db)
    db.dispose()


def _years_on(signing: Signing, own_pki: pki.Pki, start: datetime, renewals=RENEWALS,
              revoke_first_tsa: tuple[float, float] | None = None) -> None:
    """`revoke_first_tsa`: (as of, listed from): the first TSA's revocation date, and when a CRL first lists it."""
    first_tsa = int(own_pki.manifest["tsa"]["serial"])
    for years in renewals:
        with time_machine.travel(start + years * YEAR, tick=True):
            if revoke_first_tsa and years >= revoke_first_tsa[1] and not own_pki.manifest["revoked"]:
                pki.revoke(own_pki, first_tsa, start + revoke_first_tsa[0] * YEAR)
            pki.write_crls(own_pki, [(int(s), datetime.fromisoformat(w)) for s, w in own_pki.manifest["revoked"]])
            pki.renew_tsa(own_pki)
            report = signing.refresh_archive(within_days=365, timestamper=tsa.timestamper(own_pki.dir))
            assert len(report["refreshed"]) == 1 and report["failed"] == [], (years, report)


@contextmanager
def _offline(own_pki: pki.Pki, monkeypatch) -> Iterator[None]:
    """The CRL files are gone and any connection attempt fails."""
    for crl in own_pki.dir.glob("*.crl"):
        crl.unlink()

    def refuse(*_args, **_kwargs):
        raise OSError("network is off in this test")

    with monkeypatch.context() as m:
        m.setattr(socket.socket, "connect", refuse)
        yield


def test_fifteen_years_on_offline_the_renewed_stamp_chain_says_valid_when_signed(
        long_signing, own_pki, draft_bytes, monkeypatch):
    with local_server("services.signing.tsa", "--pki-dir", str(own_pki.dir)) as port:
        long_signing.settings.signing_tsa_url = f"http://127.0.0.1:{port}/"
        sha = issue(long_signing, draft_bytes)["sha256"]
    start = now_utc()
    _years_on(long_signing, own_pki, start)
    latest = long_signing.blobs.read(archive.current(long_signing.db, sha))
    assert len(list(_reader(latest).embedded_timestamp_signatures)) == 1 + len(RENEWALS)

    with _offline(own_pki, monkeypatch):
        with time_machine.travel(start + 15 * YEAR, tick=True):
            results = long_signing.verify_long_term(sha)
            report = long_signing.verify(sha)  # what the document page and the API show
            issued_only = ltv.validate(long_signing.blobs.read(sha), trust_store(long_signing.settings), now_utc())
        with time_machine.travel(start + 16 * YEAR, tick=True):  # the last TSA certificate expired at +15.5 y
            too_late = long_signing.verify_long_term(sha)
            too_late_report = long_signing.verify(sha)

    assert {r["field"] for r in results} == {"LanhDao", "DauCoQuan"}
    for r in results:
        assert r["valid_when_signed"] and r["status"] == "passed", r
        assert abs(datetime.fromisoformat(r["best_signature_time"]) - start) < timedelta(hours=1)
    assert report["legally_valid"] and report["proven_by_archive_stamps"] == ["DauCoQuan", "LanhDao"], report
    assert "hợp lệ tại thời điểm ký" in report["summary_vi"]
    assert not too_late_report["legally_valid"] and too_late_report["proven_by_archive_stamps"] == []
    # Without the refreshes the first stamp's certificate expired long ago: nothing proves the signatures.
    assert not any(r.valid_when_signed for r in issued_only)
    # A year after the last stamp's certificate expired, without a new stamp, nothing proves them either.
    assert not any(r["valid_when_signed"] for r in too_late)


def test_a_stamp_whose_tsa_was_revoked_before_the_next_one_breaks_the_chain(
        long_signing, own_pki, draft_bytes, monkeypatch):
    """The chain is checked link by link. The first TSA's key was compromised at +2 y, which its CA finds out and
    publishes at +5 y, after the second stamp (+2.5 y): that CRL, added before the third stamp, dates the
    revocation before the second stamp, so the first stamp proves nothing and the signatures cannot be shown valid
    when signed."""
    with local_server("services.signing.tsa", "--pki-dir", str(own_pki.dir)) as port:
        long_signing.settings.signing_tsa_url = f"http://127.0.0.1:{port}/"
        sha = issue(long_signing, draft_bytes)["sha256"]
    start = now_utc()
    _years_on(long_signing, own_pki, start, renewals=(2.5, 5), revoke_first_tsa=(2, 5))
    with _offline(own_pki, monkeypatch), time_machine.travel(start + 6 * YEAR, tick=True):
        results = long_signing.verify_long_term(sha)
    assert results and not any(r["valid_when_signed"] for r in results), results
    assert {r["subindication"] for r in results} == {"REVOKED_NO_POE"}
