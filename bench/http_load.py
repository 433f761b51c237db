"""A small HTTP/1.1 load client for the benches over real sockets: N keep-alive connections on asyncio (uvloop),
each sending one GET after another and timing it. wrk is not installed on the bench machine; httpx.AsyncClient
costs around a millisecond of the client's CPU per request, which on a 2-core machine is taken from the server
measured. This client only writes the request and reads the status line, the headers and a Content-Length body
(what uvicorn sends for these routes; a chunked answer is refused), so nearly all the CPU goes to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Load:
    seconds: float
    done: int = 0
    failed: dict[int, int] = field(default_factory=dict)   # status (0: connection error) -> count
    latencies: list[float] = field(default_factory=list)  # seconds, of the requests answered 200

    @property
    def per_second(self) -> float:
        return self.done / self.seconds

    def percentile(self, p: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]


def request_bytes(path: str, host: str, cookie: str = "") -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Accept: text/html,application/json"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lowered = head.lower()
    at = lowered.find(b"\r\ncontent-length:")
    if at < 0:
        raise ValueError(f"no Content-Length in {head[:200]!r}")
    length = int(lowered[at + 17:lowered.index(b"\r\n", at + 2)])
    await reader.readexactly(length)
    return status


async def _connection(port: int, requests: list[bytes], start: float, stop: float, load: Load,
                      host: str = "127.0.0.1", think: float = 0.0) -> None:
    if think:  # people do not all click at the same instant
        await asyncio.sleep(random.uniform(0, think))
    reader, writer = await asyncio.open_connection(host, port)
    turn = 0
    try:
        while True:
            began = time.perf_counter()
            if began >= stop:
                return
            try:
                if think and turn:  # idle longer than the server keeps a connection: a browser opens a new one
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                status = await _one(reader, writer, requests[turn % len(requests)])
            except (OSError, asyncio.IncompleteReadError, ValueError):
                load.failed[0] = load.failed.get(0, 0) + 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            turn += 1
            ended = time.perf_counter()
            if began >= start and ended <= stop:  # only requests wholly inside the measured window
                if status == 200:
                    load.done += 1
                    load.latencies.append(ended - began)
                else:
                    load.failed[status] = load.failed.get(status, 0) + 1
            if think:
                await asyncio.sleep(min(think, max(0.0, stop - time.perf_counter())))
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def run(port: int, requests: list[list[bytes]], seconds: float, warmup: float = 1.0,
              think: float = 0.0) -> Load:
    """One connection per entry of `requests` (its requests sent in turn), for warmup + seconds; what the
    measured window saw."""
    load = Load(seconds)
    start = time.perf_counter() + warmup
    stop = start + seconds
    await asyncio.gather(*(_connection(port, r, start, stop, load, think=think) for r in requests))
    return load


def measure(port: int, path: str, connections: int, seconds: float, warmup: float = 1.0) -> Load:
    """`connections` connections all asking for `path`."""
    request = request_bytes(path, f"127.0.0.1:{port}")
    return _run(run(port, [[request]] * connections, seconds, warmup))


def _run(coro):
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of every process in a process group: a server and its workers. On a machine
    shared with other work, CPU per request is steadier than requests per second of wall time."""
    return _cpu_seconds(lambda _comm, fields: int(fields[2]) == pgid)


def command_cpu_seconds(command: str) -> float:
    """CPU time of every process named `command` (PostgreSQL's backends each lead a process group of their own)."""
    return _cpu_seconds(lambda comm, _fields: comm == command)


def _cpu_seconds(chosen) -> float:
    import os

    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                head, rest = f.read().rsplit(") ", 1)
        except OSError:
            continue  # ended meanwhile
        fields = rest.split()
        if chosen(head.split(" (", 1)[1], fields):
            total += int(fields[11]) + int(fields[12])
    return total / tick


def measure_cpu(port: int, pgid: int, path: str, connections: int, seconds: float,
                warmup: float = 1.0) -> tuple[Load, float]:
    """measure(), and the server's CPU milliseconds per request answered in the window (warmup included in
    neither: the CPU is read at the window's edges)."""
    import threading

    request = request_bytes(path, f"127.0.0.1:{port}")
    marks: dict[str, float] = {}

    def mark(at: float, name: str) -> None:
        time.sleep(max(0.0, at - time.perf_counter()))
        marks[name] = group_cpu_seconds(pgid)

    begin = time.perf_counter() + warmup
    threads = [threading.Thread(target=mark, args=(begin, "start")),
               threading.Thread(target=mark, args=(begin + seconds, "stop"))]
    for t in threads:
        t.start()
    load = _run(run(port, [[request]] * connections, seconds, warmup))
    for t in threads:
        t.join()
    return load, (marks["stop"] - marks["start"]) * 1000 / max(load.done, 1)
