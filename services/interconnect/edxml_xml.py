"""The hardened XML under the edXML codec: no DOCTYPE or entities, no network, bounded depth, base64 payloads
cut out before parsing (libxml2's text-node limit stays on), and the element helpers every reader uses. Part of
the codec whose API is edxml.py: import that module, not this one."""

from __future__ import annotations

import re

from lxml import etree

from services.interconnect.edxml_base import MAX_DEPTH, _format_error

_CTE_RE = re.compile(
    rb"<(?P<tag>(?:[A-Za-z_][\w.\-]*:)?ContentTransferEncoded)(?P<attrs>(?:\s[^<>]*?)?)>"
    rb"(?P<body>[^<]*)</(?P=tag)\s*>"
)
_SLOT_ATTR = "cvslot"
_DOCTYPE_RE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _xml_parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not safe to share between threads (eventlet or not).
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, attribute_defaults=False, remove_comments=True,
                           remove_pis=True, collect_ids=False)


def _refuse_doctype(data: bytes) -> None:
    """A DOCTYPE can only come in the prolog, before the root element; refuse it outright (XXE, billion
    laughs). The prolog is walked item by item, so a comment cannot hide a DOCTYPE behind a fake `<a`."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"\x00<\x00?", b"<\x00?\x00"):
        raise _format_error("chỉ chấp nhận gói tin mã hóa UTF-8 (QCVN 102:2016)")
    position = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while position < len(data) and data[position] in b" \t\r\n":
            position += 1
        if data.startswith(b"<?", position):
            terminator = b"?>"
        elif data.startswith(b"<!--", position):
            terminator = b"-->"
        elif _DOCTYPE_RE.match(data, position):
            raise _format_error("gói tin có khai báo DOCTYPE/ENTITY, không được phép")
        else:
            return   # the root element (or garbage the XML parser will refuse)
        end = data.find(terminator, position)
        if end < 0:
            return
        position = end + len(terminator)


def _split_payloads(data: bytes) -> tuple[bytes, list[bytes]]:
    """Cut every ContentTransferEncoded text out of the package; its element gets a `cvslot` index."""
    pieces: list[bytes] = []
    payloads: list[bytes] = []
    last = 0
    for match in _CTE_RE.finditer(data):
        pieces.append(data[last:match.start()])
        tag, attrs = match.group("tag"), match.group("attrs")
        pieces.append(b"<%s%s %s=\"%d\"></%s>" % (tag, attrs, _SLOT_ATTR.encode(), len(payloads), tag))
        payloads.append(match.group("body"))
        last = match.end()
    if not payloads:
        return data, []
    pieces.append(data[last:])
    return b"".join(pieces), payloads


def _check_depth(root: etree._Element) -> None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _format_error(f"cấu trúc XML lồng quá sâu (> {MAX_DEPTH} mức)")
        stack.extend((child, depth + 1) for child in element)


def _parse_skeleton(skeleton: bytes) -> etree._Element:
    try:
        root = etree.fromstring(skeleton, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise _format_error(f"XML không hợp lệ: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _format_error("gói tin có khai báo DOCTYPE, không được phép")
    _check_depth(root)
    return root


# --- reading helpers --------------------------------------------------------------------------------------------

def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _namespace(element: etree._Element) -> str:
    """The element's namespace URI, "" for none. Read from the tag as `_local` does, not with etree.QName, which
    raises ValueError on a tag libxml2 kept with an undeclared prefix ("e-XML:edXMLEnvelope")."""
    tag = element.tag
    return tag[1:tag.index("}")] if isinstance(tag, str) and tag.startswith("{") else ""


def _children(element: etree._Element | None, name: str) -> list[etree._Element]:
    if element is None:
        return []
    # lxml's filter in C ("{*}": any namespace or none): fifty lookups per header, each comparing every
    # sibling's local name in Python, were most of the cost of reading a header.
    return list(element.iterchildren(f"{{*}}{name}"))


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: etree._Element | None, name: str) -> str | None:
    """Text of the child `name`: None when the child is absent, "" when empty, else stripped text."""
    child = _child(element, name)
    if child is None:
        return None
    return (child.text or "").strip()


def _str(element: etree._Element | None, name: str) -> str:
    return _text(element, name) or ""


def _number(text: str | None) -> int | str | None:
    """Integers become int; odd values (real traffic has them) are kept as sent rather than rejected."""
    if text is None or text == "":
        return None
    return int(text) if re.fullmatch(r"-?\d{1,18}", text) else text


def _boolean(text: str | None) -> bool | str | None:
    if text is None or text == "":
        return None
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    return text

