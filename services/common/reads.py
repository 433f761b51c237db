"""Several read-only calls of one service answered by one RPC (`read_many`).

A home page shows five to seven lists. Asked one RPC each, a page cost five to seven round trips through RabbitMQ,
each with its own nameko worker, database session, acting-user checks and reply: most of the page's CPU in the
installation (docs/performance.md, "Morning peak"). A service offers `read_many(reads)`, which answers a list of
`{"method": ..., "kwargs": {...}}` in order, each as `{"result": ...}` or, when that read is refused,
`{"error": {"code", "message", "details"}}` (the other reads still answer, as separate calls would). Only the reads the
service lists may be asked for, with the arguments they take; anything else refuses the whole call before any runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from services.common.errors import CongVanError, ValidationFailed

MAX_READS = 12


def run_reads(reads: Any, functions: Mapping[str, Callable[..., Any]]) -> list[dict[str, Any]]:
    """`functions`: the reads allowed, by name, each called with the item's kwargs."""
    out: list[dict[str, Any]] = []
    for fn, kwargs in checked(reads, functions):
        try:
            out.append({"result": fn(**kwargs)})
        except CongVanError as exc:
            out.append({"error": exc.to_dict()})
    return out


def checked(reads: Any, functions: Mapping[str, Callable[..., Any]]) -> list[tuple[Callable[..., Any], dict]]:
    if not isinstance(reads, list) or not 0 < len(reads) <= MAX_READS:
        raise ValidationFailed(f"Yêu cầu đọc gộp phải có từ 1 đến {MAX_READS} mục.", reads=type(reads).__name__)
    out = []
    for item in reads:
        method = item.get("method") if isinstance(item, dict) else None
        kwargs = (item.get("kwargs") or {}) if isinstance(item, dict) else None
        fn = functions.get(method) if isinstance(method, str) else None
        if fn is None or not isinstance(kwargs, dict):
            raise ValidationFailed("Yêu cầu đọc gộp có mục không được phép.", method=str(method)[:64])
        try:
            inspect.signature(fn).bind(**kwargs)
        except TypeError:
            raise ValidationFailed("Yêu cầu đọc gộp có tham số không hợp lệ.", method=method,
                                   arguments=sorted(str(k)[:32] for k in kwargs)) from None
        out.append((fn, kwargs))
    return out
