"""Signing benchmark: medians of leader sign, fill, seal, verify, verify of a 5-signature PDF, and the raw baseline.

    .venv/bin/python -m bench.signing [--runs 15]

Baseline, same run and same prepared PDF: one plain pyHanko PAdES signature (PdfSigner, no appearance) with the
same PKCS#12 key. Ratio of interest: (fill + seal) / raw signature, i.e. what the clerk's step costs compared
with signing once. Everything runs in a temporary directory with a fresh test PKI.
Issue 20, same run: the clerk's issue step as B-B (fill + seal) against B-LTA (fill + seal with a signature time
stamp + DSS + document time stamp, ltv.extend; the local TSA's signer in process), goal ≤ 2×; placement detection
(placement.detect) over the ten NĐ 30 specimen layouts, per page, goal ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter

from bench.signing_tokens import token_rows
from services.interconnect.topology import DEMO
from services.signing import fonts, layout, ltv, pades, pki, placement, sample, specimens, tsa
from services.signing.keys import open_signer
from services.signing.settings import SigningSettings
from services.signing.verify import trust_store, verify_pdf

NUMBER, DATE = "Số: 15/QĐ-UBND", "Tuyên Quang, ngày 21 tháng 11 năm 2026"


CPU: dict[str, float] = {}  # name -> median CPU ms of this process (steadier than wall time on a shared machine)


def median_ms(fn: Callable[[], object], runs: int, name: str = "") -> tuple[float, object]:
    times, cpu, out = [], [], None
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    if name:
        CPU[name] = statistics.median(cpu)
    return statistics.median(times), out


def five_signatures(prepared: bytes, signer, font: Path) -> bytes:
    pdf = pades.sign_leader(prepared, signer, pades.Appearance(font=font, text="x"))
    pdf = pades.fill_fields(pdf, {layout.NUMBER_FIELD: NUMBER, layout.DATE_FIELD: DATE}, font)
    pdf = pades.seal(pdf, signer, layout.default_seal_image("Cơ quan", fonts.system_font(fonts.SERIF_BOLD)))
    for i in range(3):  # three more approval signatures in new invisible fields
        pdf = pades.sign(pdf, signer, f"KiemTra{i}")
    return pdf


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        made = pki.init_pki(Path(tmp) / "pki", pki.demo_agencies(DEMO.agencies[:1]))
        settings = SigningSettings(agency_id=DEMO.agencies[0].organ_id, data_dir=Path(tmp), signing_pki_dir=made.dir)
        font = fonts.stamp_font(settings.font_dir)
        agency = made.agency(DEMO.agencies[0].organ_id)
        prepared = pades.prepare(sample.draft_pdf(), layout.resolve_layout())
        store = trust_store(settings)
        image = layout.default_signature_image("Nguyễn Văn An", fonts.system_font(fonts.SERIF_ITALIC))
        seal_image = layout.default_seal_image(agency["name"], fonts.system_font(fonts.SERIF_BOLD))
        with open_signer({"source": "pkcs12", "p12": agency["leaders"][0]["p12"]}, settings) as leader, \
                open_signer({"source": "pkcs12", "p12": agency["seal"]["p12"]}, settings) as seal_key:
            def raw() -> bytes:
                meta = signers.PdfSignatureMetadata(field_name="Raw", subfilter=SigSeedSubFilter.PADES,
                                                    md_algorithm="sha256")
                out = io.BytesIO()
                signers.PdfSigner(meta, signer=leader, new_field_spec=SigFieldSpec("Raw")).sign_pdf(
                    IncrementalPdfFileWriter(io.BytesIO(prepared)), output=out)
                return out.getvalue()

            appearance = pades.Appearance(font=font, image=image, text="Nguyễn Văn An\n21/11/2026 10:15:30")
            raw_ms, _ = median_ms(raw, runs, "raw")
            leader_ms, signed = median_ms(lambda: pades.sign_leader(prepared, leader, appearance), runs, "leader")
            fill_ms, filled = median_ms(lambda: pades.fill_fields(
                signed, {layout.NUMBER_FIELD: NUMBER, layout.DATE_FIELD: DATE}, font), runs, "fill")
            seal_ms, sealed = median_ms(lambda: pades.seal(filled, seal_key, seal_image), runs, "seal")
            verify_ms, report = median_ms(lambda: verify_pdf(sealed, store), runs, "verify")
            stamper = tsa.timestamper(made.dir)  # the local RFC 3161 TSA's signer, in process (no HTTP)

            def issue_bb() -> bytes:
                pdf = pades.fill_fields(signed, {layout.NUMBER_FIELD: NUMBER, layout.DATE_FIELD: DATE}, font)
                return pades.seal(pdf, seal_key, seal_image)

            def issue_lta() -> bytes:
                pdf = pades.fill_fields(signed, {layout.NUMBER_FIELD: NUMBER, layout.DATE_FIELD: DATE}, font)
                return ltv.extend(pades.seal(pdf, seal_key, seal_image, timestamper=stamper), store, stamper)

            bb_ms, _ = median_ms(issue_bb, runs, "issue_bb")
            lta_ms, lta_pdf = median_ms(issue_lta, max(3, runs // 2), "issue_lta")
            five = five_signatures(prepared, seal_key, font)
            verify5_ms, report5 = median_ms(lambda: verify_pdf(five, store), max(3, runs // 3), "verify5")
        tokens = token_rows(Path(tmp), made, settings, prepared, runs, median_ms)
        drafts = [f() for f in specimens.all_drafts().values()]
        pages = sum(pades.page_count(d) for d in drafts)
        place_ms, _ = median_ms(lambda: [placement.detect(d) for d in drafts], runs, "placement")
    assert report["verdict"] == "valid" and len(report5["signatures"]) == 5  # type: ignore[index]
    assert b"/DocTimeStamp" in lta_pdf  # type: ignore[operator]
    rows = [("raw pyHanko signature (baseline)", raw_ms, "raw"),
            ("leader sign (visible, image, certify)", leader_ms, "leader"),
            ("fill number + date", fill_ms, "fill"), ("seal sign (visible, image)", seal_ms, "seal"),
            ("verify issued PDF (2 signatures)", verify_ms, "verify"),
            ("verify PDF with 5 signatures", verify5_ms, "verify5")]
    print(f"signing benchmark, median of {runs} runs: wall ms, ratio to raw; CPU ms of this process, ratio")
    for name, ms, key in rows:
        print(f"  {name:<40} {ms:8.1f}   ×{ms / raw_ms:5.2f} raw   cpu {CPU[key]:7.1f}   ×{CPU[key] / CPU['raw']:5.2f}")
    print(f"  fill + seal vs one raw signature: ×{(fill_ms + seal_ms) / raw_ms:.2f} wall, "
          f"×{(CPU['fill'] + CPU['seal']) / CPU['raw']:.2f} cpu")
    if tokens:  # issue 20: the PIN path against pyHanko's own PKCS#11 signature, same token, same PDF
        (raw_name, p11_raw, raw_key), (pin_name, p11_pin, pin_key) = tokens
        print(f"  {pin_name:<40} {p11_pin:8.1f}   ×{p11_pin / p11_raw:5.2f} {raw_name} (goal ≤ 1.3)   "
              f"cpu ×{CPU[pin_key] / CPU[raw_key]:5.2f}")
        print(f"  {raw_name:<40} {p11_raw:8.1f}")
    print(f"  issued PDF size: {len(sealed) // 1024} KB (draft {len(prepared) // 1024} KB)")
    print(f"  issue (fill + seal) B-B {bb_ms:8.1f} ms (cpu {CPU['issue_bb']:.1f}); B-LTA (B-T seal, DSS, document "
          f"time stamp) {lta_ms:8.1f} ms (cpu {CPU['issue_lta']:.1f}): ×{lta_ms / bb_ms:.2f} wall, "
          f"×{CPU['issue_lta'] / CPU['issue_bb']:.2f} cpu (goal ≤ 2); issued B-LTA {len(lta_pdf) // 1024} KB")
    print(f"  placement detection: {len(drafts)} NĐ 30 layouts, {pages} pages: {place_ms / pages:6.1f} ms a page wall, "
          f"{CPU['placement'] / pages:6.1f} cpu (goal ≤ 50)")


if __name__ == "__main__":
    main()
