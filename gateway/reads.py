"""A page's reads asked of each service in one call (`read_many`, services/common/reads.py), then answered from
what came back: the home page asks routing and registry once each instead of once per list.

    prefetch(g, v, {"routing": [("list_tasks", {}), ("list_incoming", {"box": "mine"})]})
    read(g, v, "routing", "list_tasks")          # from the answer above; a read not asked for is its own call

A read refused by the service is raised again where the page reads it, as the separate call would have raised it.
A batch the service does not answer leaves that error for each of its reads: the panels show it without asking
again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gateway.app import Gateway, Viewer
from services.common import errors
from services.common.errors import CongVanError

Reads = dict[str, list[tuple[str, dict[str, Any]]]]


def _key(service: str, method: str, kwargs: dict[str, Any]) -> tuple:
    return service, method, tuple(sorted(kwargs.items()))


def read(g: Gateway, v: Viewer, service: str, method: str, **kwargs: Any) -> Any:
    answer = v.prefetched.get(_key(service, method, kwargs), _MISSING)
    if answer is _MISSING:
        return g.backends.call(v.actor, service, method, **kwargs)
    if isinstance(answer, CongVanError):
        raise answer
    return answer


_MISSING = object()


def prefetch(g: Gateway, v: Viewer, reads: Reads) -> None:
    """One `read_many` per service, side by side."""
    wanted = {service: items for service, items in reads.items() if items}
    if not wanted:
        return
    if len(wanted) == 1:
        [(service, items)] = wanted.items()
        _ask(g, v, service, items)
        return
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        list(pool.map(lambda pair: _ask(g, v, *pair), wanted.items()))


def _ask(g: Gateway, v: Viewer, service: str, items: list[tuple[str, dict[str, Any]]]) -> None:
    memo = v.prefetched
    unique = list(dict.fromkeys(_key(service, m, k) for m, k in items))
    try:
        answers = g.backends.call(v.actor, service, "read_many",
                                  [{"method": method, "kwargs": dict(kwargs)} for _s, method, kwargs in unique])
    except CongVanError as exc:
        memo.update(dict.fromkeys(unique, exc))
        return
    for key, answer in zip(unique, answers, strict=True):
        memo[key] = answer["result"] if "error" not in answer else _error(answer["error"])


def _error(found: dict[str, Any]) -> CongVanError:
    """The refusal as the separate call would have raised it: the same class (by its code), message and details."""
    kinds = {cls.code: cls for cls in _subclasses(CongVanError)}
    cls = kinds.get(str(found.get("code")), errors.CongVanError)
    return cls(str(found.get("message") or ""), str(found.get("code") or "error"), found.get("details") or {})


def _subclasses(cls: type) -> list[type]:
    return [cls, *[s for sub in cls.__subclasses__() for s in _subclasses(sub)]]
