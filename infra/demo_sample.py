"""A sample working day in the demo (`./congvan up`), made through the product's own REST API (docs/api.md).

Without it a newcomer signs in to empty lists. After the demo has started and seeded its accounts and tokens, the
demo's people do a morning's work over HTTP on the running gateway, as a portal or a mobile app would: each signs
in with the password generated at seeding and types their token's PIN where the screens would ask for it.

- Ủy ban nhân dân tỉnh Tuyên Quang and Sở Nội vụ tỉnh Tuyên Quang each draft a công văn, the department head
  approves, the leader signs it with the PIN, the clerk numbers, seals (the seal's PIN) and sends it over the
  interconnect: Đà Nẵng's and Văn phòng Chính phủ's clerks find real signed edXML packages "chờ tiếp nhận".
- Ủy ban nhân dân thành phố Đà Nẵng registers four paper documents (numbers 1 to 4 of the incoming register): one
  the leader directs to Phòng Tổng hợp with a deadline, one the head of that unit gives to her specialist, who has
  drafted the reply now waiting for the leader's signature, one waits for the leader's directive, one for the
  clerk to submit. An internal notice, a task and an entry of the leadership's weekly schedule complete it.

Every step first looks whether its result is already there and writes with an Idempotency-Key named after the
step: run again (a restart with the data kept), it adds nothing. A failed step is logged with its request and the
answer; the rest of the day goes on and the demo stays up. Passwords and PINs are read from the demo's accounts
text at run time and never written anywhere by this module.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.common import clock

log = logging.getLogger("congvan.demo_sample")

KEY_PREFIX = "ngay-mau"          # every Idempotency-Key of the scenario: ngay-mau:<step>
MARKER = "sample-day.done"       # under the demo's data folder once the whole day was made
PIN_LINE = re.compile(r"^\s*(.+?)\s+mã PIN thiết bị ký số: (\d+)\s+\((.+)\)\s*$")
ACCOUNT_LINE = re.compile(r"^\s+([a-z0-9]+\.[a-z0-9]+)\s+(\S+)\s")
TQ, SNV_TQ, DN, VPCP = "000.00.00.H60", "000.00.09.H60", "000.00.00.H17", "000.00.00.G22"
ARRIVAL_WAIT = 120.0             # seconds the summary waits for the letters to reach Đà Nẵng and the government


class StepFailed(Exception):
    """A request of the scenario was refused or never answered: what was asked and what came back."""


@dataclass(frozen=True)
class Secrets:
    passwords: dict[str, str]   # username -> password
    pins: dict[str, str]        # username -> PIN of their token; an agency's name -> its seal's PIN


def read_secrets(accounts_text: str) -> Secrets:
    """The passwords and PINs of the demo's start-up text (infra/demo.py `seed`), as a person would read them."""
    passwords: dict[str, str] = {}
    pins: dict[str, str] = {}
    for line in accounts_text.splitlines():
        if pin := PIN_LINE.match(line):
            who, code, name = pin.groups()
            pins[name if who == "con dấu của cơ quan" else who] = code
        elif account := ACCOUNT_LINE.match(line):
            passwords[account.group(1)] = account.group(2)
    return Secrets(passwords, pins)


def username_of(organ_id: str, role: str) -> str:
    """The account of the demo's person with that role in the agency (infra/demo_people.py)."""
    from gateway.accounts import account_name
    from infra.demo_people import PEOPLE

    person = next(p for p in PEOPLE[organ_id] if role in p.roles)
    return account_name(person.full_name, person.unit)


def letter_pdf(issuer: str, subject: str, signer: str, position: str) -> bytes:
    """A one-page letter in the NĐ 30 form (the number, date and signature places left blank), the same bytes for
    the same words: a retried upload under its Idempotency-Key is the same request."""
    from reportlab import rl_config

    from services.signing.sample import draft_pdf

    kept = rl_config.invariant
    rl_config.invariant = 1   # no creation time nor random id in the file
    try:
        return draft_pdf(agency_name=issuer, signer_name=signer, signer_title=position, subject=subject)
    finally:
        rl_config.invariant = kept


class Person:
    """One demo person signed in to the gateway: a session, whose CSRF token goes with every write."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.username = username
        self.http = httpx.Client(base_url=base_url, timeout=180, follow_redirects=False)
        signed = self.http.post("/dang-nhap", data={"username": username, "password": password, "next": "/"})
        if signed.status_code != 303:
            raise StepFailed(f"đăng nhập {username}: HTTP {signed.status_code} (mật khẩu trong accounts.txt?)")
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.http.get("/doi-mat-khau").text)
        if found is None:
            raise StepFailed(f"đăng nhập {username}: không lấy được mã CSRF của phiên")
        self.csrf = found.group(1)
        me = self.get("/api/v1/me")
        self.user_id, self.unit = me["user_id"], me["unit"]

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(path, params=params)
        if answer.status_code != 200:
            raise StepFailed(f"{self.username}: GET {path} {params or ''} → {_said(answer)}")
        return answer.json()

    def send(self, method: str, path: str, step: str, **body: Any) -> dict[str, Any]:
        """A write under the step's Idempotency-Key; again after a busy service (503), a key still in progress or a
        lost answer: the gateway answers the first answer rather than doing it twice."""
        headers = {"Idempotency-Key": f"{KEY_PREFIX}:{step}", "X-CSRF-Token": self.csrf}
        for attempt in range(4):
            try:
                answer = self.http.request(method, path, headers=headers, **body)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}"
            else:
                if answer.status_code in (200, 201, 204):
                    return answer.json() if answer.content else {}
                last = _said(answer)
                if answer.status_code not in (503, 409) or (answer.status_code == 409 and "in_progress" not in
                                                                 answer.text):
                    break
            time.sleep(3 * (attempt + 1))
        raise StepFailed(f"bước {step} ({self.username}): {method} {path} → {last}")

    def close(self) -> None:
        with contextlib.suppress(httpx.HTTPError):   # sign out: no session of the scenario is left open
            self.http.post("/dang-xuat", headers={"X-CSRF-Token": self.csrf})
        self.http.close()


def _said(answer: httpx.Response) -> str:
    if answer.headers.get("content-type", "").startswith("application/problem+json"):
        problem = answer.json()
        return f"HTTP {answer.status_code} {problem.get('code')}: {problem.get('detail') or problem.get('title')}"
    return f"HTTP {answer.status_code} {answer.text[:300]}"


def wait_until(probe: Callable[[], Any], seconds: float, what: str) -> Any:
    """Delivery and the services' events are asynchronous: poll, bounded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(1)
    raise StepFailed(f"chờ quá {seconds:.0f} giây: {what}")


class Day:
    """The people of the scenario, signed in on first use, and what went wrong."""

    def __init__(self, base_url: str, secrets: Secrets, names: dict[str, str]) -> None:
        self.base_url, self.secrets, self.names = base_url, secrets, names
        self.people: dict[str, Person] = {}
        self.failures: list[str] = []

    def as_(self, organ_id: str, role: str) -> Person:
        username = username_of(organ_id, role)
        if username not in self.people:
            password = self.secrets.passwords.get(username)
            if password is None:
                raise StepFailed(f"không có mật khẩu của {username} trong danh sách tài khoản")
            self.people[username] = Person(self.base_url, username, password)
        return self.people[username]

    def pin(self, holder: str) -> str:
        if holder not in self.secrets.pins:
            raise StepFailed(f"không có mã PIN của {holder} trong danh sách tài khoản")
        return self.secrets.pins[holder]

    def story(self, name: str, run: Callable[[Day], None]) -> None:
        """One thread of the day; a failure ends that thread only, and is logged with what was asked."""
        try:
            run(self)
        except (StepFailed, httpx.HTTPError, KeyError, ValueError) as exc:
            said = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
            self.failures.append(f"{name}: {said}")
            log.warning("Dữ liệu mẫu, %s: %s", name, said)

    def close(self) -> None:
        for person in self.people.values():
            person.close()


# -- an outgoing letter, from the draft to the interconnect -------------------------------------------------------

@dataclass(frozen=True)
class Letter:
    step: str                 # the scenario's name of it, in its Idempotency-Keys
    organ_id: str
    subject: str
    recipients: tuple[str, ...]
    signer: str
    position: str


LETTERS = (
    Letter("tq-cv", TQ, "V/v kết quả kết nối, liên thông văn bản điện tử bốn cấp chính quyền của tỉnh Tuyên Quang",
           (VPCP, DN), "Nguyễn Văn An", "Chủ tịch"),
    Letter("snv-cv", SNV_TQ, "V/v trao đổi kinh nghiệm sắp xếp, kiện toàn tổ chức bộ máy các cơ quan chuyên môn",
           (DN,), "Trịnh Quang Huy", "Giám đốc"),
)


def own_draft(person: Person, title: str) -> dict[str, Any] | None:
    drafts = person.get("/api/v1/drafts", size=100)["items"]
    return next((d for d in drafts if d["title"] == title), None)


def draft_to_leader(day: Day, organ_id: str, step: str, title: str, signer: str, position: str,
                    answers: tuple[str, ...] = ()) -> dict[str, Any]:
    """The specialist's draft, submitted, approved by the head of the department: it waits at the leader's step."""
    specialist, head = day.as_(organ_id, "specialist"), day.as_(organ_id, "department_head")
    draft = own_draft(specialist, title)
    if draft is None:
        pdf = letter_pdf(day.names[organ_id], title, signer, position)
        draft = specialist.send("POST", "/api/v1/drafts", f"{step}:draft",
                                data={"title": title, "type_code": "CV", "answers": list(answers)},
                                files={"file": ("du-thao.pdf", pdf, "application/pdf")})
    draft_id = draft["draft_id"]
    if draft["status"] in ("drafting", "returned"):
        draft = specialist.send("POST", f"/api/v1/drafts/{draft_id}/submit", f"{step}:submit",
                                json={"note": "Kính trình lãnh đạo phòng xem xét."})
    if draft["status"] == "in_review" and (draft.get("step") or {}).get("key") == "department":
        draft = head.send("POST", f"/api/v1/drafts/{draft_id}/approve", f"{step}:department",
                          json={"comment": "Đã kiểm tra nội dung, thể thức; kính trình lãnh đạo ký."})
    return draft


def send_letter(day: Day, letter: Letter) -> None:
    clerk, leader = day.as_(letter.organ_id, "clerk"), day.as_(letter.organ_id, "leader")
    draft = draft_to_leader(day, letter.organ_id, letter.step, letter.subject, letter.signer, letter.position)
    if draft["status"] == "in_review":
        draft = leader.send("POST", f"/api/v1/drafts/{draft['draft_id']}/approve", f"{letter.step}:sign",
                            json={"comment": "Đồng ý ban hành.", "pin": day.pin(leader.username)})
    if draft["status"] != "signed":
        return  # issued already (an earlier run), or stopped where a person must look
    waiting = wait_until(lambda: [d for d in clerk.get("/api/v1/outgoing/waiting-issue", size=100)["items"]
                                  if d["subject"] == letter.subject], 120, f"“{letter.subject}” chờ ban hành")
    clerk.send("POST", f"/api/v1/outgoing/{waiting[0]['id']}/issue", f"{letter.step}:issue",
               json={"recipients": list(letter.recipients), "pin": day.pin(day.names[letter.organ_id])})


# -- Đà Nẵng's morning: paper arrivals, their handling, a reply waiting for the signature ---------------------------

@dataclass(frozen=True)
class Paper:
    step: str
    organ_name: str
    code_number: str
    code_notation: str
    subject: str
    signer: str
    position: str
    days_ago: int
    priority: int = 0


PAPERS = (
    Paper("dn-giay-1", "Công an thành phố Đà Nẵng", "2318", "CAĐN-PC08",
          "V/v tăng cường bảo đảm trật tự an toàn giao thông những tháng cuối năm", "Nguyễn Hữu Hợp", "Giám đốc", 2,
          priority=1),
    Paper("dn-giay-2", "Ban Quản lý dự án đầu tư xây dựng các công trình giao thông thành phố Đà Nẵng", "415",
          "BQLDA-KH", "V/v đề nghị bố trí vốn đầu tư công cho dự án nâng cấp tuyến đường ven biển Nguyễn Tất Thành",
          "Phạm Văn Lực", "Giám đốc", 3),
    Paper("dn-giay-3", "Công ty Cổ phần Cấp nước Đà Nẵng", "87", "CNĐN-KT",
          "V/v thông báo lịch tạm ngừng cấp nước để bảo trì mạng lưới đường ống", "Trần Văn Thanh", "Tổng Giám đốc",
          1),
    Paper("dn-giay-4", "Hội Chữ thập đỏ thành phố Đà Nẵng", "52", "HCTĐ",
          "V/v mời dự Hội nghị tổng kết công tác Hội và phong trào Chữ thập đỏ", "Lê Thị Thu Hà", "Chủ tịch", 1),
)
REPLY = "V/v trả lời đề nghị bố trí vốn đầu tư công cho dự án nâng cấp tuyến đường ven biển Nguyễn Tất Thành"


def register_paper(day: Day, paper: Paper) -> str:
    """The clerk registers a paper letter with its scan (a one-page PDF made now); returns its id."""
    clerk = day.as_(DN, "clerk")
    found = clerk.get("/api/v1/incoming", text=paper.subject, size=20)["items"]
    mine = [d for d in found if d["subject"] == paper.subject]
    if mine:
        return mine[0]["id"]
    issued = clock.today_vn() - timedelta(days=paper.days_ago)
    scan = letter_pdf(paper.organ_name, paper.subject, paper.signer, paper.position)
    done = clerk.send("POST", "/api/v1/incoming/paper", f"{paper.step}:vao-so", files=[
        ("files", ("ban-quet.pdf", scan, "application/pdf"))], data={
        "channel": "paper", "code_number": paper.code_number, "code_notation": paper.code_notation,
        "issued_date": issued.isoformat(), "organ_name": paper.organ_name, "subject": paper.subject,
        "type_code": "CV", "priority": str(paper.priority), "signer_full_name": paper.signer,
        "signer_position": paper.position, "page_amount": "1"})
    return done["id"]


def handling(day: Day, incoming_id: str) -> dict[str, Any]:
    clerk = day.as_(DN, "clerk")

    def ready() -> dict[str, Any] | None:   # routing learns of the registration from an event
        answer = clerk.http.get(f"/api/v1/handling/{incoming_id}")
        return answer.json() if answer.status_code == 200 else None

    return wait_until(ready, 60, f"văn bản đến {incoming_id} sang bước xử lý")


def submit_to_leader(day: Day, paper: Paper, incoming_id: str) -> dict[str, Any]:
    state = handling(day, incoming_id)
    if state["status"] == "received":
        state = day.as_(DN, "clerk").send("POST", f"/api/v1/handling/{incoming_id}/submit", f"{paper.step}:trinh",
                                          json={"to_user_id": day.as_(DN, "leader").user_id,
                                                "note": "Kính trình đồng chí Chủ tịch cho ý kiến chỉ đạo."})
    return state


def direct_to_unit(day: Day, paper: Paper, incoming_id: str, directive: str, days: int) -> dict[str, Any]:
    state = submit_to_leader(day, paper, incoming_id)
    if state["status"] == "submitted":
        head = day.as_(DN, "department_head")
        state = day.as_(DN, "leader").send("POST", f"/api/v1/handling/{incoming_id}/direct", f"{paper.step}:but-phe",
                                           json={"directive": directive, "main": {"unit": head.unit},
                                                 "deadline": working_day(clock.today_vn(), days).isoformat()})
    return state


def dn_papers(day: Day) -> None:
    ids = [register_paper(day, paper) for paper in PAPERS]
    direct_to_unit(day, PAPERS[0], ids[0], "Giao Phòng Tổng hợp chủ trì, phối hợp Công an thành phố tham mưu kế "
                   "hoạch triển khai; báo cáo kết quả trước hạn.", 5)
    state = direct_to_unit(day, PAPERS[1], ids[1], "Giao Phòng Tổng hợp nghiên cứu, dự thảo văn bản trả lời.", 7)
    head, specialist = day.as_(DN, "department_head"), day.as_(DN, "specialist")
    if not any(a["user_id"] == specialist.user_id and a["active"] for a in state.get("assignments", ())):
        head.send("POST", f"/api/v1/handling/{ids[1]}/reassign", f"{PAPERS[1].step}:giao", json={
            "user_id": specialist.user_id, "kind": "main", "note": "Đồng chí Phúc dự thảo văn bản trả lời."})
    draft_to_leader(day, DN, "dn-tra-loi", REPLY, "Lê Quang Vinh", "Chủ tịch", answers=(ids[1],))
    submit_to_leader(day, PAPERS[2], ids[2])   # the fourth stays registered only: the clerk's "Chờ trình"


# -- the office: an internal notice, a task, the leadership's schedule ----------------------------------------------

NOTICE = "Thông báo lịch họp giao ban công tác tuần"
TASK = "Tổng hợp báo cáo tình hình kinh tế - xã hội tháng, trình lãnh đạo thành phố"
MEETING = "Chủ tịch UBND thành phố chủ trì họp giao ban với các sở, ngành"


def working_day(start: date, days: int) -> date:
    """`days` working days after `start` (Monday to Friday; the agency's holidays are routing's business)."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        days -= day.weekday() < 5
    return day


def meeting_day() -> date:
    """Today, or Monday when the demo starts at the weekend: the schedule's default week shows it."""
    return working_day(clock.today_vn(), 1) if clock.today_vn().weekday() >= 5 else clock.today_vn()


def dn_office(day: Day) -> None:
    clerk, leader, head = day.as_(DN, "clerk"), day.as_(DN, "leader"), day.as_(DN, "department_head")
    if not any(n["title"] == NOTICE for n in clerk.get("/api/v1/notices", size=100)["items"]):
        clerk.send("POST", "/api/v1/notices", "dn-thong-bao", json={
            "title": NOTICE, "units": [],
            "body": "Lãnh đạo thành phố họp giao ban với các sở, ngành vào 8 giờ sáng thứ Hai hằng tuần tại phòng họp "
                    "số 1. Các đơn vị gửi báo cáo trước 16 giờ thứ Sáu."})
    if not any(t["title"] == TASK for t in leader.get("/api/v1/tasks", size=100)["items"]):
        leader.send("POST", "/api/v1/tasks", "dn-cong-viec", json={
            "title": TASK, "assignee": head.user_id, "coordinators": [day.as_(DN, "specialist").user_id],
            "description": "Tổng hợp số liệu từ các sở, ngành; nêu rõ các chỉ tiêu chưa đạt và giải pháp.",
            "due": working_day(clock.today_vn(), 5).isoformat(), "priority": 0})
    meeting = meeting_day()
    week = clerk.get("/api/v1/schedule", week=meeting.isoformat())
    if not any(e["title"] == MEETING for d in week["days"] for e in d["entries"]):
        clerk.send("POST", "/api/v1/schedule/entries", "dn-lich", json={
            "starts_at": f"{meeting.isoformat()}T14:00", "ends_at": f"{meeting.isoformat()}T16:30", "title": MEETING,
            "place": "Phòng họp số 1, Trung tâm Hành chính thành phố", "leaders": [leader.user_id],
            "attendees": "Giám đốc các sở, ngành", "preparing_unit": "Văn phòng UBND thành phố"})
    if not week["published"]:
        clerk.send("POST", "/api/v1/schedule/publish", "dn-lich-cong-bo", json={"week": meeting.isoformat()})


# -- the day, and what to tell the person --------------------------------------------------------------------------

def run_day(base_url: str, accounts_text: str, names: dict[str, str]) -> tuple[list[str], list[str]]:
    """Make the sample day on the running gateway; returns the lines to print and the failures (empty: complete)."""
    day = Day(base_url, read_secrets(accounts_text), names)
    try:
        for letter in LETTERS:
            day.story(f"văn bản “{letter.subject}”", lambda d, letter=letter: send_letter(d, letter))
        day.story("văn bản giấy của UBND thành phố Đà Nẵng", dn_papers)
        day.story("thông báo, công việc, lịch công tác của UBND thành phố Đà Nẵng", dn_office)
        lines: list[str] = []
        if not day.failures:   # else nothing is printed but what failed; the arrivals need not be waited for
            day.story("tóm tắt", lambda d: lines.extend(summary(d)))
        return lines, day.failures
    finally:
        day.close()


def summary(day: Day) -> list[str]:
    """Where to look, counted on the screens' own lists (the letters sent may still be on their way)."""
    names = [username_of(DN, "clerk"), username_of(VPCP, "clerk")]
    expected = {o: sum(o in letter.recipients for letter in LETTERS) for o in (DN, VPCP)}
    arrived = {}
    for organ_id in (DN, VPCP):
        clerk = day.as_(organ_id, "clerk")
        with contextlib.suppress(StepFailed):
            wait_until(lambda c=clerk, o=organ_id: c.get("/api/v1/incoming/waiting-reception")["total"] >= expected[o],
                       ARRIVAL_WAIT, "văn bản liên thông đến nơi")
        arrived[organ_id] = clerk.get("/api/v1/incoming/waiting-reception")["total"]
    leader = day.as_(DN, "leader")
    to_direct = len(leader.get("/api/v1/handling", box="to_direct"))
    to_sign = sum(d["status"] == "in_review" and (d.get("step") or {}).get("key") == "leader"
                  for d in leader.get("/api/v1/drafts", size=100)["items"])
    register = day.as_(DN, "clerk").get("/api/v1/incoming", size=100)["total"]
    return [
        f"  {names[0]:<14} Văn thư, UBND TP Đà Nẵng: {arrived[DN]} văn bản liên thông chờ tiếp nhận (đã ký số), "
        f"{register} văn bản giấy trong Sổ văn bản đến",
        f"  {leader.username:<14} Chủ tịch: {to_direct} văn bản chờ cho ý kiến, {to_sign} dự thảo chờ duyệt ký; "
        "lịch công tác, thông báo nội bộ",
        f"  {username_of(DN, 'department_head'):<14} Trưởng phòng Tổng hợp: văn bản được giao có hạn xử lý, "
        "một công việc",
        f"  {username_of(DN, 'specialist'):<14} Chuyên viên: văn bản đang xử lý và dự thảo trả lời đã trình",
        f"  {username_of(TQ, 'clerk'):<14} Văn thư, UBND tỉnh Tuyên Quang: văn bản đã ban hành, trạng thái nơi nhận",
        f"  {names[1]:<14} Văn thư, Văn phòng Chính phủ: {arrived[VPCP]} văn bản chờ tiếp nhận",
    ]


def make_sample_day(base_url: str, accounts_text: str, names: dict[str, str], demo_dir: Path,
                    say: Callable[[str], None]) -> bool:
    """`congvan up`'s last step: once per demo data folder (the marker), never fatal. True when complete."""
    marker = demo_dir / MARKER
    if marker.exists():
        say(f"Ngày làm việc mẫu: đã tạo ngày {marker.read_text().strip()} (README, “What you see after ./congvan up”).")
        return True
    say("Tạo một ngày làm việc mẫu qua REST API (văn bản đến, dự thảo, ký số, liên thông) ...")
    started = time.monotonic()
    with _logged_to(demo_dir / "stack" / "log" / "sample-day.log"):
        try:
            lines, failures = run_day(base_url, accounts_text, names)
        except Exception as exc:   # nothing of the sample may stop the demo
            log.exception("Dữ liệu mẫu: lỗi không lường trước")
            lines, failures = [], [f"{type(exc).__name__}: {exc}"]
    for failure in failures:
        say(f"  Không tạo được: {failure}")
    if failures:
        say(f"Dữ liệu mẫu chưa đủ ({len(failures)} phần lỗi, chi tiết ở trên và trong {demo_dir / 'stack/log'}); "
            "lần `./congvan up` sau sẽ làm tiếp phần còn thiếu.")
        return False
    marker.write_text(f"{clock.today_vn().isoformat()}\n")
    say(f"Ngày làm việc mẫu đã sẵn sàng ({time.monotonic() - started:.0f}s). Đăng nhập để xem:")
    for line in lines:
        say(line)
    return True


@contextlib.contextmanager
def _logged_to(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False   # the terminal gets the failures once, from `say`
    try:
        yield
    finally:
        log.propagate = True
        log.removeHandler(handler)
        handler.close()
