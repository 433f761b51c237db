"""Approval and signature on paper, then "Chuyển phát hành" with the scan (agency rule `paper_signing`).

Hưng Yên, Quy chế ban hành kèm QĐ năm 2015 của UBND tỉnh, Điều 6.3a: "Sau khi dự thảo được lãnh đạo phê duyệt, cán
bộ xử lý thực hiện chức năng Chuyển phát hành trên hệ thống này. Khi thực hiện Chuyển phát hành cần đính kèm tất cả
tệp văn bản vào hệ thống." Where the agency allows it, the leader at the signing step approves and signs the paper
original instead of signing digitally; the draft waits (`paper_approved`) for its handler to upload the scan of the
signed original, and then goes to the clerk exactly like a digitally signed draft (`draft_signed`): numbered from
the register and sealed by the signing service at issue, so the issued PDF carries the agency's digital seal
(Điều 8.3 of the same regulation: the clerk's, i.e. the agency's, digital signature gives the issued document its
validity).

Appendices signed on paper: the handler may forward, with the scan, the scans of the paper appendices (phụ lục
giấy, signed or stamped with the original). They then REPLACE the approved version's appendix files instead of
going beside them: what is issued is what was signed, and the signed original is the paper with its appendices
("Văn bản điện tử loại 2: Là tệp tin được số hóa từ bản gốc, bản chính văn bản giấy và sau đó cơ quan ban hành văn
bản ký bằng chữ số của cơ quan lên tệp tin", Đà Nẵng QĐ 8849 Điều 2.1b), while the version's files are the drafts
that were printed. Sent beside them, each recipient would get every appendix twice, one of them unsigned and
possibly not what the leader signed, and "Phụ lục 01" would no longer name one file. The clerk must still attach
every appendix and seal each one ("phải đính kèm đủ các phụ lục của văn bản và phải thực hiện ký số các phụ lục",
Tuyên Quang QĐ 51/2024 Điều 12.3d): the scans are sealed at issue like any appendix, and the handler is told on the
form that the scans stand for all of the version's appendix files. Without appendix scans nothing changes: the
version's files are issued.

A chapter of the Routing application (app.py), next to drafting.py whose helpers it uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import agency_rules
from services.common.actor import Actor, Role
from services.common.errors import Conflict, Forbidden
from services.routing import domain
from services.routing.base import _iso
from services.routing.chains import ChainStep
from services.routing.domain import Authority
from services.routing.drafting import signer_entry
from services.routing.models import Draft, DraftVersion, Staff
from services.routing.notify import notify

ALLOWED = "allowed"
SHOWN_WORDS = 8
SHOWN_PAGES = 40     # more than a scan may have (gateway MAX_SCAN_PAGES): every differing page is kept


class PaperSigning:
    def approve_on_paper(self, actor: Actor, draft_id: int, comment: str = "",
                         happened_at: str | None = None) -> dict[str, Any]:
        """"Duyệt, ký trên giấy": the leader (or a delegate with scope `approve`) at the signing step. Done once
        per (draft, step): asked again, also while the first call is still running, the draft is returned as it is.
        `happened_at`: the paper original was signed during an outage and this is entered afterwards (TP.HCM Đ3.4,
        Hưng Yên Đ4.2); unlike a digital signature, whose time is the key's own, the hand signature's time is what
        the leader wrote, so `approved_at` is that real time."""
        with self._unit_of_work(actor) as session:
            done = self._paper_step(session, actor, draft_id)
            if done is not None:
                return done
            _draft, _step, authority = self._reviewer(session, actor, draft_id)
        # the delegation's "TUQ." line and the signer's position, read as a digital signature would read them
        on_behalf_of, position = self._signing_authority(actor, authority)
        with self._unit_of_work(actor) as session:
            done = self._paper_step(session, actor, draft_id)
            if done is not None:
                return done
            draft, step, authority = self._reviewer(session, actor, draft_id)
            late, _ = self._late_draft_step(session, draft, happened_at)
            self._paper_approved(session, draft, step, authority, actor, position, on_behalf_of, comment, late)
            self._add_participant(session, draft, actor.user_id, "reviewer")
            return self._draft_view(session, draft)

    def _paper_approved(self, session: Session, draft: Draft, step: ChainStep, authority: Authority, signer: Actor,
                        position: str, on_behalf_of: dict[str, str] | None, comment: str, late: datetime | None,
                        entered: dict[str, Any] | None = None) -> None:
        """The approval and hand signature recorded as `authority`'s (`signer`: who signed the paper), the draft then
        waiting for its handler's "Chuyển phát hành". `entered`: typed in for the leader by their entrant (entry.py):
        who, and the scan of the signed original they attached."""
        now = self._now()
        draft.paper = {"step": draft.step, "version": draft.version, "approved_by": authority.user_id,
                       "on_behalf_of": authority.on_behalf_of, "approved_at": _iso(late or now),
                       "signer": signer_entry(signer, position, on_behalf_of), "on_behalf_of_leader": on_behalf_of,
                       **({"late_entry": True, "entered_at": _iso(now)} if late else {}),
                       **({**entered, "entered_at": _iso(now)} if entered else {})}
        draft.status, draft.step = "paper_approved", None
        draft.signed_by, draft.signed_on_behalf_of = authority.user_id, authority.on_behalf_of
        draft.updated_at = now
        self._comment(session, draft, authority.user_id, authority.on_behalf_of, "paper_sign", comment, step.key,
                      late, entered_by=(entered or {}).get("entered_by"))
        notify(session, [draft.drafted_by], "paper_signed",
               f"Lãnh đạo đã duyệt, ký trên giấy: {draft.title}",
               "Tải lên bản scan văn bản giấy đã ký và “Chuyển phát hành” để văn thư cấp số, ban hành."
               if not entered else "Bản scan văn bản giấy lãnh đạo đã ký đã được nhập kèm: “Chuyển phát hành” để "
               "văn thư cấp số, ban hành.", "draft", draft.id)

    def _paper_step(self, session: Session, actor: Actor, draft_id: int) -> dict[str, Any] | None:
        """The draft already approved on paper (a retry: its view), else None once the agency's rule and the step
        allow it now; the actor's authority at the step is checked by `_reviewer`."""
        draft = self._visible_draft(session, actor, draft_id)
        if self._paper_done(draft, "approved_by"):
            return self._draft_view(session, draft)
        self._require_paper_allowed(session)
        _draft, step, _authority = self._reviewer(session, actor, draft_id)
        if not step.signs:
            raise Conflict("Chỉ duyệt, ký trên giấy ở bước lãnh đạo ký ban hành; bước hiện tại là "
                           f"“{step.label}”.", code="not_signing_step", step=step.key)
        return None

    def forward_paper_scan(self, actor: Actor, draft_id: int, scan_sha256: str, note: str = "",
                           scan_check: dict[str, Any] | None = None,
                           appendix_scan_sha256s: list[str] | None = None) -> dict[str, Any]:
        """"Chuyển phát hành" at once, with a check made elsewhere (or none): the draft's handler (its author, or
        whoever it was handed over to) attaches the scan (PDF) of the original signed by hand; the draft goes to the
        clerk's "Chờ ban hành" like a signed one. Done once per draft: asked again (even with another file) the draft
        is returned as it is. The gateway uses submit_paper_scan, whose check runs here, off the request path.

        `scan_check`: a comparison of the scan with the approved version (services/routing/scan_match.py); kept
        with the forward and shown to the clerk at issue. A scan that does not match goes forward only when the
        handler confirmed it. `appendix_scan_sha256s`: the scans of the paper appendices, issued instead of the
        approved version's appendix files (the module's docstring says why)."""
        check = scan_check_record(scan_check)
        appendix_scans = distinct(appendix_scan_sha256s)
        self._check_blobs([scan_sha256, *appendix_scans])
        with self._unit_of_work(actor) as session:
            draft = self._forwardable(session, actor, draft_id)
            if self._paper_done(draft, "forwarded_by"):
                return self._draft_view(session, draft)
            if check is not None and not check["matches"] and not check["confirmed"]:
                raise Conflict("Bản scan có vẻ không phải phiên bản lãnh đạo đã duyệt; người xử lý cần xác nhận.",
                               code="scan_mismatch", score=check["score"], draft_id=draft.id)
            self._forward(session, draft, actor.user_id, actor.full_name, scan_sha256, note, check, appendix_scans)
            return self._draft_view(session, draft)

    def _forwardable(self, session: Session, actor: Actor, draft_id: int) -> Draft:
        """The draft its handler may forward; one already forwarded is returned as it is (status "signed")."""
        draft = self._visible_draft(session, actor, draft_id)
        self._require_author(actor, draft)
        if self._paper_done(draft, "forwarded_by"):
            return draft
        if draft.status != "paper_approved" or not draft.paper:
            raise Conflict("Chỉ “Chuyển phát hành” dự thảo đã được lãnh đạo duyệt, ký trên giấy.",
                           code="not_paper_approved", status=draft.status, draft_id=draft.id)
        return draft

    def _forward(self, session: Session, draft: Draft, user_id: str, full_name: str, scan_sha256: str, note: str,
                 check: dict[str, Any] | None, appendix_scans: list[str]) -> None:
        paper = dict(draft.paper or {})
        version = self._version(session, draft)
        forwarder = session.get(Staff, user_id)
        approved_appendices = list(version.appendix_sha256s or [])
        paper.update(scan_sha256=scan_sha256, forwarded_by=user_id, forwarded_at=_iso(self._now()),
                     forwarded_by_name=forwarder.full_name if forwarder else full_name, note=note or "",
                     **({"scan_check": check} if check is not None else {}),
                     **({"appendix_scan_sha256s": appendix_scans} if appendix_scans else {}))
        draft.paper = paper
        draft.status, draft.signed_sha256 = "signed", scan_sha256
        draft.updated_at = self._now()
        self._comment(session, draft, user_id, None, "paper_forward", note)
        signer = paper["signer"]
        # the scans of the paper appendices, when given, are what was signed: they replace the version's files
        self._hand_to_issue(session, draft, scan_sha256, appendix_scans or approved_appendices, signer,
                            paper.get("on_behalf_of_leader"), paper_signed={
                                "approved_by": paper["approved_by"], "approved_by_name": signer["full_name"],
                                "on_behalf_of": paper.get("on_behalf_of"), "approved_at": paper["approved_at"],
                                "forwarded_by": user_id, "forwarded_by_name": paper["forwarded_by_name"],
                                "forwarded_at": paper["forwarded_at"],
                                **({"scan_check": {k: check[k] for k in ("score", "matches", "confirmed")}}
                                   if check is not None else {}),
                                **({"appendix_scans": len(appendix_scans),
                                    "replaced_appendices": len(approved_appendices)} if appendix_scans else {})})
        if not domain.is_urgent(draft.priority):  # an urgent one is announced by _hand_to_issue already
            # Unlike a digitally signed draft, this one has a paper original that the clerks must fetch, to write
            # its number and date on it and keep it ("Văn bản điện tử loại 2: Vẫn tồn tại văn bản giấy gốc nên
            # ... một bản giấy gốc lưu tại văn thư cơ quan", Đà Nẵng QĐ 8849 Điều 9.3): they are told when the
            # scan arrives, not when they next open "Chờ ban hành".
            notify(session, self._people_with(session, Role.CLERK.value), "paper_forwarded",
                   f"Văn bản lãnh đạo ký trên giấy chờ cấp số, ban hành: {draft.title}",
                   f"{paper['forwarded_by_name']} đã chuyển phát hành bản scan. Nhận bản giấy gốc để ghi số, "
                   "ngày ban hành.", ref_kind="waiting_issue", ref_id=draft.id,
                   dedupe_key=f"paper-forwarded:{draft.id}")

    # -- the scan checked off the request path (services/routing/scan_check.py) ----------------------------------

    def submit_paper_scan(self, actor: Actor, draft_id: int, scan_sha256: str, note: str = "",
                          confirmed: bool = False, appendix_scan_sha256s: list[str] | None = None) -> dict[str, Any]:
        """"Chuyển phát hành" with the check: the handler's scan is recorded in `paper.scan_upload` (state
        "checking") and the draft forwards once routing's worker has compared every page with the approved version
        and found it the same, or at once when the handler confirmed it is the signed original (`confirmed`, after
        seeing the differences or up front). Idempotent by (draft, scan): the same scan again changes nothing but
        the note and the confirmation; another scan replaces one not yet forwarded, and the same scan after a failed
        check is checked again. `appendix_scan_sha256s`: the scans of the paper appendices, kept with the upload and
        issued instead of the version's appendix files; None (none sent with this request) keeps those of the same
        upload, a new upload has only those sent with it. They are not compared with the version (only the main
        scan is)."""
        appendix_scans = distinct(appendix_scan_sha256s)
        self._check_blobs([scan_sha256, *appendix_scans])
        with self._unit_of_work(actor) as session:
            draft = self._forwardable(session, actor, draft_id)
            if self._paper_done(draft, "forwarded_by"):
                return self._draft_view(session, draft)
            upload = dict((draft.paper or {}).get("scan_upload") or {})
            if upload.get("sha256") != scan_sha256 or (upload.get("state") == "failed" and not confirmed):
                upload = {"sha256": scan_sha256, "state": "checking", "by": actor.user_id,
                          "at": _iso(self._now()), "confirmed": False}
            upload.update(note=note or upload.get("note") or "", confirmed=bool(confirmed or upload["confirmed"]))
            if appendix_scan_sha256s is not None or "appendix_sha256s" not in upload:
                upload["appendix_sha256s"] = appendix_scans
            draft.paper = {**(draft.paper or {}), "scan_upload": upload}
            draft.updated_at = self._now()
            if upload["state"] != "checking" and upload["confirmed"]:   # confirmed after seeing the differences
                check = scan_check_record({**(upload.get("check") or {}), "confirmed": True})
                self._forward(session, draft, actor.user_id, actor.full_name, scan_sha256, upload["note"], check,
                              upload["appendix_sha256s"])
            return self._draft_view(session, draft)

    def pending_scan_checks(self, actor: Actor) -> list[dict[str, Any]]:
        """The scans waiting for their check (the worker's list): draft, scan, and the approved version's PDF."""
        actor.require(Role.SYSTEM.value)
        with self._unit_of_work(actor) as session:
            drafts = session.scalars(select(Draft).where(Draft.status == "paper_approved")).all()
            pending = []
            for draft in drafts:
                upload = (draft.paper or {}).get("scan_upload") or {}
                if upload.get("state") == "checking":
                    version = session.scalars(select(DraftVersion).where(
                        DraftVersion.draft_id == draft.id, DraftVersion.number == draft.paper["version"])).one()
                    pending.append({"draft_id": draft.id, "scan_sha256": upload["sha256"],
                                    "approved_sha256": version.pdf_sha256, "version": version.number})
            return pending

    def record_scan_check(self, actor: Actor, draft_id: int, scan_sha256: str, check: dict[str, Any] | None,
                          error: str = "") -> bool:
        """The worker's outcome for (draft, scan), once: kept only while that scan still waits for it (a second
        worker, or a scan replaced meanwhile, changes nothing). A scan that matches, or that its handler confirmed,
        is forwarded in its handler's name; one that does not waits for the handler (confirm, or another scan);
        `error` (nothing could be compared: a broken file) likewise. True when recorded."""
        actor.require(Role.SYSTEM.value)
        with self._unit_of_work(actor) as session:
            draft = session.get(Draft, draft_id)
            upload = dict(((draft.paper or {}).get("scan_upload") or {}) if draft else {})
            if draft is None or draft.status != "paper_approved" or upload.get("sha256") != scan_sha256 \
                    or upload.get("state") != "checking":
                return False
            kept = scan_check_record({**(check or {}), "confirmed": bool(upload.get("confirmed"))}) or {}
            upload.update(state="failed" if error else "checked", checked_at=_iso(self._now()), check=kept,
                          **({"error": error[:300]} if error else {}))
            draft.paper = {**draft.paper, "scan_upload": upload}
            draft.updated_at = self._now()
            if kept["matches"] or kept["confirmed"]:
                self._forward(session, draft, upload["by"], "", scan_sha256, upload.get("note") or "", kept,
                              list(upload.get("appendix_sha256s") or []))
            return True

    @staticmethod
    def _paper_done(draft: Draft, what: str) -> bool:
        return bool(draft.paper and draft.paper.get(what))

    def _require_paper_allowed(self, session: Session) -> None:
        if agency_rules.value_of(session, self.agency_id, "paper_signing") != ALLOWED:
            raise Forbidden("Cơ quan không cho phép lãnh đạo duyệt, ký trên giấy (quy định “Lãnh đạo duyệt và ký "
                            "trên giấy” đang là “Không”): lãnh đạo duyệt và ký số trên hệ thống.",
                            code="paper_signing_not_allowed", rule="paper_signing")


def distinct(sha256s: list[str] | None) -> list[str]:
    """The files in the order chosen, each once (the same scan chosen twice is one appendix)."""
    return list(dict.fromkeys(str(s) for s in sha256s or []))


def scan_check_record(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A comparison, as kept: the score in per cent (the lowest page's; None: no text could be read on the scan),
    whether it matched, whether the handler confirmed a scan that did not, a few differing words (of the first page
    that differs), and, for a check of every page, the page counts and each differing page (services/routing/
    scan_match.py: its number, kind, score and words), all bounded."""
    if not value:
        return None
    kept = {"score": _percent(value.get("score")), "confirmed": bool(value.get("confirmed")),
            "missing": _shown(value.get("missing")), "added": _shown(value.get("added")),
            "version": _count(value.get("version"))}
    kept["matches"] = bool(value.get("matches")) and kept["score"] is not None
    if "pages" in value:
        kept.update(scan_pages=_count(value.get("scan_pages")), approved_pages=_count(value.get("approved_pages")),
                    blank_scan_pages=[_count(n) for n in list(value.get("blank_scan_pages") or [])[:SHOWN_PAGES]],
                    pages=[{"page": _count(p.get("page")), "kind": str(p.get("kind") or "")[:12],
                            "score": _percent(p.get("score")), "missing": _shown(p.get("missing")),
                            "added": _shown(p.get("added"))}
                           for p in list(value.get("pages") or [])[:SHOWN_PAGES] if isinstance(p, dict)])
    return kept


def _percent(score: Any) -> int | None:
    return max(0, min(100, int(score))) if isinstance(score, int | float) and not isinstance(score, bool) else None


def _count(value: Any) -> int:
    return max(0, int(value)) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _shown(words: Any) -> list[str]:
    return [str(w)[:40] for w in list(words or [])[:SHOWN_WORDS]]
