"""The hubs' trace splice: one more TraceHeader spliced into a package as bytes (split from edxml.py, which stays
the codec's API: import that module, not this one)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from services.interconnect.edxml_base import _format_error, format_timestamp, parse_timestamp
from services.interconnect.edxml_build import _escape
from services.interconnect.edxml_parse import read_trace

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


def append_trace(data: bytes, organ_id: str, timestamp: datetime, *, checked: bool = True,
                 trace: list[dict[str, Any]] | None = None) -> bytes:
    """The same package with one more TraceHeader (a hub adding itself), spliced in as bytes so that the
    attachments and the rest of the package stay byte-for-byte as the sender wrote them.

    `checked=False` skips parsing the header before and after the splice (two thirds of the cost for a 200 KB
    package). Only for a package a hub already spliced and checked: the byte search is deterministic and the
    first hub's splice changed the package only inside the trace list, so every later search finds the place
    the first hub's check proved right (issue 17 item 5: a hub that does not validate need not re-parse).
    `trace`: the package's trace as the caller already read it from these bytes (the first hub parsed the
    package), so that only the result is read again."""
    if not checked:
        return _splice(data, organ_id, format_timestamp(timestamp), _header_region(data))
    before = trace if trace is not None else read_trace(data)
    stamp = format_timestamp(timestamp)
    # The search stops at the header's end here too: whatever it finds is checked by reading the trace back.
    result = _splice(data, organ_id, stamp, _header_region(data))
    expected = {"organ_id": organ_id, "timestamp": parse_timestamp(stamp)}
    if read_trace(result) != [*before, expected]:
        # A comment or CDATA fooled the byte search: refuse rather than relay a package with a hidden trace.
        raise _format_error("không thể bổ sung TraceHeader vào gói tin")
    return result


_HEADER_END_RE = re.compile(rb"</(?:[A-Za-z_][\w.\-]*:)?edXMLHeader\s*>")
_HIDDEN_START_RE = re.compile(rb"<!--|<!\[CDATA\[|<\?")


def _header_region(data: bytes) -> int:
    """Where the search for the trace list may stop: the end of the envelope's header, unless a comment, CDATA
    section or processing instruction is still open there (the end found was hidden in it): then everything."""
    end = _HEADER_END_RE.search(data)
    if end is None or _HIDDEN_START_RE.search(_visible(data[:end.end()])):
        return len(data)
    return end.end()


def _splice(data: bytes, organ_id: str, stamp: str, region: int | None = None) -> bytes:
    # Searched: the visible text of the region (a 200 KB package's attachments need no search); the splice
    # itself goes into `data`, at offsets that are the same in both.
    text = _visible(data if region is None or region >= len(data) else data[:region])
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
    return result


def _trace_entry(prefix: bytes, organ_id: str, stamp: str | None) -> bytes:
    p = prefix.decode("ascii")
    return (f"<{p}TraceHeader><{p}OrganId>{_escape(organ_id)}</{p}OrganId>"
            f"<{p}Timestamp>{_escape(stamp)}</{p}Timestamp></{p}TraceHeader>").encode()


