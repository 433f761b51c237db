"""The hubs' trace splice: one more TraceHeader spliced into a package as bytes (split from edxml.py, which stays
the codec's API: import that module, not this one)."""

from __future__ import annotations

import re
from datetime import datetime

from services.interconnect.edxml import _format_error, format_timestamp, parse_timestamp, peek
from services.interconnect.edxml_build import _escape

_TRACE_LIST_RE = re.compile(
    rb"<(?P<prefix>(?:[A-Za-z_][\w.\-]*:)?)TraceHeaderList(?P<attrs>(?:\s[^<>]*?)?)(?P<empty>/?)>")
_TRACE_ITEM_END_RE = re.compile(rb"</(?:[A-Za-z_][\w.\-]*:)?TraceHeader\s*>")
_TRACE_LIST_END_RE = re.compile(rb"</(?:[A-Za-z_][\w.\-]*:)?TraceHeaderList\s*>")
_MESSAGE_HEADER_END_RE = re.compile(rb"</(?P<prefix>(?:[A-Za-z_][\w.\-]*:)?)MessageHeader\s*>")


_HIDDEN_RE = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)


def _visible(data: bytes) -> bytes:
    """`data` with every comment, CDATA section and processing instruction blanked out (same length, so
    offsets still point into `data`): markup-looking text inside them must not be taken for elements."""
    return _HIDDEN_RE.sub(lambda m: b" " * (m.end() - m.start()), data)


def append_trace(data: bytes, organ_id: str, timestamp: datetime) -> bytes:
    """The same package with one more TraceHeader (a hub adding itself), spliced in as bytes so that the
    attachments and the rest of the package stay byte-for-byte as the sender wrote them."""
    before = peek(data)
    stamp = format_timestamp(timestamp)
    text = _visible(data)  # searched; the splice itself goes into `data`
    list_match = _TRACE_LIST_RE.search(text)
    if list_match is not None and list_match.group("empty"):
        prefix = list_match.group("prefix")
        entry = _trace_entry(prefix, organ_id, stamp)
        replacement = b"<%sTraceHeaderList%s>%s</%sTraceHeaderList>" % (prefix, list_match.group("attrs"),
                                                                         entry, prefix)
        result = data[:list_match.start()] + replacement + data[list_match.end():]
    elif list_match is not None:
        prefix = list_match.group("prefix")
        end = _TRACE_LIST_END_RE.search(text, list_match.end())
        if end is None:
            raise _format_error("TraceHeaderList không đóng")
        position = list_match.end()
        for item_end in _TRACE_ITEM_END_RE.finditer(text, list_match.end(), end.start()):
            position = item_end.end()
        result = data[:position] + _trace_entry(prefix, organ_id, stamp) + data[position:]
    else:
        header_end = _MESSAGE_HEADER_END_RE.search(text)
        if header_end is None:
            raise _format_error("thiếu MessageHeader")
        prefix = header_end.group("prefix")
        block = b"<%sTraceHeaderList>%s</%sTraceHeaderList>" % (prefix, _trace_entry(prefix, organ_id, stamp),
                                                                 prefix)
        result = data[:header_end.end()] + block + data[header_end.end():]
    after = peek(result)
    expected = {"organ_id": organ_id, "timestamp": parse_timestamp(stamp)}
    if after["trace"] != [*before["trace"], expected]:
        # A comment or CDATA fooled the byte search: refuse rather than relay a package with a hidden trace.
        raise _format_error("không thể bổ sung TraceHeader vào gói tin")
    return result


def _trace_entry(prefix: bytes, organ_id: str, stamp: str | None) -> bytes:
    p = prefix.decode("ascii")
    return (f"<{p}TraceHeader><{p}OrganId>{_escape(organ_id)}</{p}OrganId>"
            f"<{p}Timestamp>{_escape(stamp)}</{p}Timestamp></{p}TraceHeader>").encode()


