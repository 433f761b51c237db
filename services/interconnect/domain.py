"""Pure rules of the hubs and the edge: where a recipient's copy goes, why a package is refused, status texts.

No I/O here: the hub and the edge feed facts in (who published, what the directory says) and act on the answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

UP_KEY = "up"
MAX_PACKAGE_BYTES = 64 * 1024 * 1024

# AMQP headers the interconnect sets (the edXML itself is the body, untouched but for the trace).
H_RECIPIENTS = "x-recipients"      # organ ids this copy is for (set by the first hub, narrowed at each hop)
H_TO = "x-to"                      # destination of a status (edXML status packages carry no To)
H_ORIGIN = "x-origin"              # organ id of the submitting agency, as authenticated by the first hub
ORIGINAL_USER = "x-original-user"  # set by `congvan dlq redrive`: who submitted a re-driven message
H_SUBMITTED = "x-submitted-at"     # epoch milliseconds (AMQP tables have no floats) when the edge published
H_READDRESSED = "x-readdressed"    # {addressed organ id: successor organ id} set by a hub (2025 mergers)
H_PREDECESSORS = "x-predecessors"  # on a status: the agencies its (authenticated) author succeeded
H_UNDECODABLE = "x-undecodable-headers"  # put by our pika decoder in place of a header table it cannot read

# Who may set what (docs/interconnect.md, "Trust"): the first hub drops every header an agency sent except
# x-submitted-at (a number, read only for the latency metric) and sets the others itself; a hub takes these
# headers as they come only from a neighbour hub's own broker user.
SENDER_HEADERS = (H_SUBMITTED,)


def epoch_ms() -> int:
    import time

    return int(time.time() * 1000)


def age_seconds(epoch_milliseconds: object) -> float | None:
    import time

    if not isinstance(epoch_milliseconds, int):
        return None
    return max(0.0, time.time() - epoch_milliseconds / 1000)


def trace_organ_id(hub_code: str) -> str:
    """How a hub names itself in the TraceHeaderList: `hub.H60`, `hub.national`.

    A hub is not an agency and has no mã định danh of its own; `hub.<code>` cannot collide with an agency
    identifier (neither grammar starts with a lower-case word), and it names the broker vhost an operator
    looks at. The messages contract (docs/messages.md) uses the same form.
    """
    return f"hub.{hub_code}"


def hub_key(hub_code: str) -> str:
    return f"hub.{hub_code}"


class Reason(StrEnum):
    """Why a hub or an edge refuses a package (STANDARDS.md §3 list, plus transport cases)."""

    FORMAT_ERROR = "FORMAT_ERROR"
    TOO_LARGE = "TOO_LARGE"
    FORGED_SENDER = "FORGED_SENDER"
    UNKNOWN_RECIPIENT = "UNKNOWN_RECIPIENT"
    LOCKED_RECIPIENT = "LOCKED_RECIPIENT"
    NOT_CONNECTED = "NOT_CONNECTED"
    WRONG_RECIPIENT = "WRONG_RECIPIENT"
    MISSING_OR_CORRUPT_ATTACHMENT = "MISSING_OR_CORRUPT_ATTACHMENT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PROCESSING_ERROR = "PROCESSING_ERROR"
    NOT_A_RECIPIENT = "NOT_A_RECIPIENT"


REASON_VI = {
    Reason.FORMAT_ERROR: "Gói tin edXML không hợp lệ",
    Reason.TOO_LARGE: "Gói tin vượt quá dung lượng cho phép",
    Reason.FORGED_SENDER: "Cơ quan gửi trong gói tin không trùng với tài khoản đã gửi",
    Reason.UNKNOWN_RECIPIENT: "Không tìm thấy cơ quan nhận trong danh bạ",
    Reason.LOCKED_RECIPIENT: "Cơ quan nhận đã ngừng hoạt động hoặc bị khóa",
    Reason.NOT_CONNECTED: "Cơ quan nhận chưa kết nối trục liên thông",
    Reason.WRONG_RECIPIENT: "Gửi sai nơi nhận",
    Reason.MISSING_OR_CORRUPT_ATTACHMENT: "Tệp đính kèm bị thiếu hoặc hỏng",
    Reason.UNAUTHENTICATED: "Không xác định được tài khoản gửi",
    Reason.PROCESSING_ERROR: "Trục liên thông không xử lý được gói tin",
    Reason.NOT_A_RECIPIENT: "Cơ quan gửi trạng thái không phải nơi nhận của văn bản",
}


def printable(value: object, limit: int) -> str:
    """A header or property value as text fit for a log row and a database column: decoded, without control
    characters (PostgreSQL refuses NUL), at most `limit` characters (a long one keeps a hash of the whole)."""
    import hashlib

    if isinstance(value, bytes):
        text = value.decode("utf-8", "backslashreplace")
    else:
        text = "" if value is None else str(value)
    if not text.isprintable():  # the common case skips the per-character pass (a hub logs ~6 values a package)
        text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if len(text) > limit:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        text = f"{text[:limit - 18]}~{digest}"
    return text


def organ_ids(value: object) -> list[str]:
    """A recipients header as a list of ids; anything else (a string, a table, numbers) is no list of ids."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"x-recipients không phải danh sách: {type(value).__name__}")
    return [printable(v, 64) for v in value]


def reason_text(reason: Reason, detail: str = "") -> str:
    base = REASON_VI[reason]
    return f"{base}: {detail}" if detail else f"{base}."


def readdress(previous: object, recipients: Iterable[str], current_id: Callable[[str], str]) -> dict[str, str]:
    """{addressed id: successor id} for recipients replaced in the directory, merged with what an earlier hub
    already readdressed (`previous`, the header it set): a successor of a successor is followed to the end."""
    moved = {str(k): str(v) for k, v in previous.items()} if isinstance(previous, dict) else {}
    for organ in recipients:
        successor = current_id(organ)
        if successor != organ:
            moved[organ] = successor
    for old, new in list(moved.items()):  # chain an earlier hop's successor through this directory too
        moved[old] = moved.get(new, new)
    return moved


def accepts(organ_id: str, addressed: Iterable[str], readdressed: object) -> bool:
    """Whether an edge may take a package: addressed to it, or to an agency a hub readdressed to it."""
    addressed = list(addressed)
    if organ_id in addressed:
        return True
    moved = readdressed if isinstance(readdressed, dict) else {}
    return any(str(moved.get(organ, "")) == organ_id for organ in addressed)


@dataclass(frozen=True)
class Placement:
    """Where the copies of one package go: routing key -> recipients, and recipients refused with a reason."""

    routes: dict[str, list[str]]
    refused: dict[str, tuple[Reason, str]]


def is_inbox_key(key: str) -> bool:
    """Whether a deliver-exchange key is an installation's inbox (not `up`, not `hub.<child>`)."""
    return key != UP_KEY and not key.startswith("hub.")


def route_key(my_hub: str, child_hubs: Iterable[str], has_parent: bool, recipient: str,
              serving_hub: str | None, inbox: str | None = None) -> str | None:
    """The deliver-exchange key of one recipient's copy at hub `my_hub`, or None if nobody serves it.

    Recipients served here go to the inbox of the installation hosting them (key = `inbox`, the organ id
    naming the installation; the recipient's own id for an installation of one). A provincial hub sends every other
    recipient up (the national hub knows the whole country); the national hub sends it down to the
    provincial hub that serves it.
    """
    if serving_hub is None:
        return None
    if serving_hub == my_hub:
        return inbox or recipient
    if serving_hub in set(child_hubs):
        return hub_key(serving_hub)
    return UP_KEY if has_parent else None


def place(my_hub: str, child_hubs: Iterable[str], has_parent: bool, recipients: Iterable[str],
          directory_facts: dict[str, tuple[bool, str, str | None]],
          inboxes: dict[str, str] | None = None) -> Placement:
    """`directory_facts[organ] = (deliverable, reason_vi, serving_hub)` as the directory answered; `inboxes`:
    the installation hosting each recipient served here. Recipients of one installation share one copy."""
    inboxes = inboxes or {}
    children = list(child_hubs)
    routes: dict[str, list[str]] = {}
    refused: dict[str, tuple[Reason, str]] = {}
    for organ in dict.fromkeys(recipients):  # keep order, drop duplicates
        deliverable, reason_vi, serving = directory_facts.get(organ, (False, "", None))
        if serving is None and not deliverable:
            refused[organ] = (Reason.UNKNOWN_RECIPIENT, reason_vi or organ)
            continue
        if not deliverable:
            refused[organ] = (Reason.LOCKED_RECIPIENT, reason_vi or organ)
            continue
        key = route_key(my_hub, children, has_parent, organ, serving, inboxes.get(organ))
        if key is None:
            refused[organ] = (Reason.NOT_CONNECTED, organ)
        else:
            routes.setdefault(key, []).append(organ)
    return Placement(routes, refused)


def rejection_status(*, reporter: dict[str, str], sender: str, response_for: dict[str, str], reason: Reason,
                     detail: str, at: datetime) -> dict[str, Any]:
    """A status 02 (Từ chối tiếp nhận) back to `sender`, in the JSON shape of docs/messages.md.

    `reporter` is the recipient that could not be reached when there is one (so the sender's per-recipient
    view updates the right line), else the hub itself.
    """
    return {
        "kind": "status",
        "from": reporter,
        "to": {"organ_id": sender},
        "response_for": response_for,
        "staff": {"department": "", "name": "Trục liên thông", "mobile": "", "email": ""},
        "status_code": "02",
        "description": reason_text(reason, detail),
        "reason": str(reason),
        "timestamp": at.isoformat(timespec="seconds"),
    }


def response_for_of(header: dict[str, Any] | None, sender: str, fallback_id: str) -> dict[str, str]:
    """The ResponseFor block naming the document a status is about (best effort for unparseable packages)."""
    header = header or {}
    code = "/".join(x for x in (str(header.get("code_number") or ""), str(header.get("code_notation") or "")) if x)
    return {
        "organ_id": sender,
        "code": code or "0/KXĐ",
        "promulgation_date": str(header.get("promulgation_date") or ""),
        # Cut to what the codec accepts, so that a refusal of an over-long DocumentId can itself be read.
        "document_id": str(header.get("document_id") or fallback_id)[:256],
    }


def inbox_kind(package: dict[str, Any]) -> str:
    """The dedupe key's `kind` part: edoc by business type; statuses by code and timestamp (05 may repeat).

    A status carries its text's digest too, and so do recall and update packages (types 1, 2) their reason's and the
    time the sender's own edge stamped them (its TraceHeader): two answers (15 to an update, then 15 to a recall)
    may leave in the same second, and a document may be updated twice, or recalled again after a refusal, with the
    same reason; the same message delivered again has the same text and trace and stays a duplicate."""
    if package.get("kind") == "status":
        text = _digest(package.get("description"))
        return f"status:{package.get('status_code')}:{package.get('timestamp', '')}:{text}"
    business = package.get("business") or {}
    kind = f"edoc:{printable(business.get('doc_type', 0), 40)}"  # the column takes 64; the codec keeps text
    if str(business.get("doc_type")) not in ("1", "2"):
        return kind
    sender = (package.get("from") or {}).get("organ_id")
    stamp = next((t.get("timestamp") for t in package.get("trace") or [] if t.get("organ_id") == sender), None)
    # without the sender's own trace (another vendor's package) the reason alone, as before
    return f"{kind}:{_digest(business.get('reason'))}" + (f":{_digest(stamp)}" if stamp else "")


def _digest(text: Any) -> str:
    return hashlib.sha256(str(text or "").encode()).hexdigest()[:8]
