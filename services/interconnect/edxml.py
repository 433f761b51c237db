"""edXML codec (QCVN 102:2016): parse and build edoc and status packages, STANDARDS.md §1 and §8.

Emitting is exact: the shape of the national axis's samples (default namespace on `edXML`, `edXML:` prefixes
inside the envelope, the samples' element order, `yyyy/MM/dd` dates and `yyyy/MM/dd HH:mm:ss` Vietnam-local
timestamps). Parsing is lenient on what real senders vary (date styles, the go.vn/eDoc namespace, zipped or
raw attachments, numeric status codes such as `5`, odd CodeNumber values) and strict on what is dangerous:
no DOCTYPE, no entities, no network, bounded size, depth, attachment count and zip expansion, and every
attachment must match the manifest. The package header is the JSON of docs/messages.md.

Large base64 payloads would hit libxml2's text-node limit (10 MB) that protects us with `huge_tree=False`,
so the base64 text of each `ContentTransferEncoded` is cut out of the bytes before XML parsing and decoded
separately; what is left (the "skeleton") is parsed with every limit on.

This module is the codec's one API; the code lives in modules by concern, each importing only those before it:
edxml_base (names, limits, errors, dates), edxml_xml (the hardened XML), edxml_attachments, edxml_parse (header,
parse, peek), edxml_build (building and the outbound rules) and edxml_trace (the hubs' trace splice).
"""

from __future__ import annotations

from services.interconnect.edxml_base import (
    ACCEPTED_NAMESPACES,
    DATE_FORMAT,
    MAX_ATTACHMENTS,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_EXPANDED,
    MAX_IDENTIFIER,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
    NS_GOVN,
    NS_QCVN,
    REASONS,
    STATUS_CODES_OUT,
    TIMESTAMP_FORMAT,
    ZIP_CONTENT_TYPES,
    ZIP_RATIO_FLOOR,
    Attachment,
    EdxmlError,
    ParsedPackage,
    format_date,
    format_timestamp,
    make_document_id,
    normalize_status_code,
    parse_date,
    parse_timestamp,
)
from services.interconnect.edxml_build import build_edoc, build_status, validate_outgoing
from services.interconnect.edxml_parse import check_recipient, parse, peek, read_trace
from services.interconnect.edxml_trace import append_trace

__all__ = [
    "ACCEPTED_NAMESPACES", "DATE_FORMAT", "MAX_ATTACHMENTS", "MAX_BYTES", "MAX_DEPTH", "MAX_EXPANDED",
    "MAX_IDENTIFIER", "MAX_ZIP_MEMBERS", "MAX_ZIP_RATIO", "NS_GOVN", "NS_QCVN", "REASONS", "STATUS_CODES_OUT",
    "TIMESTAMP_FORMAT", "ZIP_CONTENT_TYPES", "ZIP_RATIO_FLOOR",
    "Attachment", "EdxmlError", "ParsedPackage",
    "append_trace", "build_edoc", "build_status", "check_recipient", "format_date", "format_timestamp",
    "make_document_id", "normalize_status_code", "parse", "parse_date", "parse_timestamp", "peek", "read_trace",
    "validate_outgoing",
]
