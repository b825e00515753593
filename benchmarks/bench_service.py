"""The HTTP service's speed: /v1/check requests per second against a bare FastAPI + uvicorn endpoint
that returns a constant (same machine, same run, same load generator), /v1/check latency at a fixed
500 requests per second, and /v1/reserve throughput and latency with 8 concurrent clients on SQLite
and on PostgreSQL.

Each server is its own process: one uvicorn worker, no access log (the same for both apps). The load
generator is this process: asyncio with raw keep-alive HTTP/1.1 connections (a few microseconds
per request, so it measures the server, not an HTTP client library). Load goes only to 127.0.0.1,
bounded in count and time.

    python benchmarks/bench_service.py                 # every figure (PostgreSQL via --pg-url)
    python benchmarks/bench_service.py --skip-pg       # SQLite only

Targets (issue 13): /v1/check >= 60 % of the bare endpoint's requests per second; p99 < 10 ms at
500 requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reserve import DEFAULT_PG_URL, bench_posture

TOKEN = "bench-token"
PRICES = {"BTCUSDT": 50_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0}


# -- servers -------------------------------------------------------------------------------
def serve_bare(port: int) -> None:
    """A bare FastAPI app with one sync endpoint returning a constant (the baseline)."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/const")
    def const() -> dict[str, bool]:
        return {"ok": True}

    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


def serve_riskguard(port: int, db_url: str, posture_path: str) -> None:
    """riskguard's app (create_app) with the bench posture."""
    import uvicorn

    from riskguard.config.loader import validate_posture
    from riskguard.service.app import create_app
    from riskguard.service.settings import ServiceSettings
    from riskguard.service.tokens import TokenStore

    posture = validate_posture(json.loads(Path(posture_path).read_text()))
    settings = ServiceSettings(posture=posture, db_url=db_url, tokens=TokenStore.from_spec(f"{TOKEN}:read,trade"))
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, access_log=False, log_level="warning")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server {args} did not start")


# -- load ----------------------------------------------------------------------------------
def request(method: str, path: str, body: object) -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode()
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, payload: bytes) -> bytes:
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head[9:12]
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        if status != b"200":
            raise RuntimeError(f"HTTP {status.decode()}: {body[:300]!r}")
        return body


async def connect(port: int) -> Connection:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Connection(reader, writer)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, load: object) -> Run:
    """Run ``load`` (a coroutine) and note the server's CPU time spent during it."""
    before = cpu_seconds(pid)
    run: Run = asyncio.run(load)  # type: ignore[arg-type]
    run.server_cpu_s = cpu_seconds(pid) - before
    return run


@dataclass
class Run:
    """Requests per second and latencies (ms) of one load run; the server's CPU seconds during it."""

    requests: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_s: float = 0.0

    @property
    def cpu_us(self) -> float:
        """Server CPU per request, microseconds."""
        return self.server_cpu_s / self.requests * 1e6

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def closed_loop(port: int, make: object, connections: int, total: int) -> Run:
    """``connections`` clients each sending the next request as soon as the last one answered."""
    assert callable(make)
    conns = [await connect(port) for _ in range(connections)]
    latencies: list[float] = []
    remaining = [total]

    async def client(conn: Connection) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            payload = make()
            started = time.perf_counter()
            await conn.send(payload)
            latencies.append((time.perf_counter() - started) * 1000.0)

    began = time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    elapsed = time.perf_counter() - began
    for conn in conns:
        conn.writer.close()
    return Run(total, elapsed, latencies)


async def open_loop(port: int, make: object, rate: float, seconds: float, connections: int = 32) -> Run:
    """Requests sent on a fixed schedule (``rate`` per second) whatever the answers do; latency
    counts from the scheduled time, so a stall also delays the requests queued behind it."""
    assert callable(make)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await connect(port))
    latencies: list[float] = []
    total = int(rate * seconds)
    began = time.perf_counter()

    async def one(scheduled: float) -> None:
        conn = await pool.get()
        await conn.send(make())
        latencies.append((time.perf_counter() - scheduled) * 1000.0)
        pool.put_nowait(conn)

    tasks = []
    for n in range(total):
        scheduled = began + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    while not pool.empty():
        pool.get_nowait().writer.close()
    return Run(total, elapsed, latencies)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def quotes() -> list[dict[str, object]]:
    return [{"symbol": s, "mark_price": p, "bid": p * 0.99999, "ask": p * 1.00001, "ts_ms": now_ms()}
            for s, p in PRICES.items()]


def intent(intent_id: str) -> dict[str, object]:
    return {"intent_id": intent_id, "strategy": "bench", "symbol": "BTCUSDT", "side": "BUY", "notional": 500.0,
            "leverage": 2.0, "stop_price": 49_000.0, "take_profit_price": 52_000.0, "confidence": 0.8}


async def prime(port: int) -> None:
    conn = await connect(port)
    await conn.send(request("POST", "/v1/nav", {"nav": 100_000.0, "ts_ms": now_ms()}))
    await conn.send(request("POST", "/v1/market", {"markets": quotes()}))
    conn.writer.close()


# -- the figures ---------------------------------------------------------------------------
def riskguard_server(db_url: str, posture_path: str) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    return port, start(["--serve-riskguard", str(port), db_url, posture_path], port)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def check_vs_bare(posture_path: str, directory: Path, total: int, clients: int, rounds: int) -> list[str]:
    bare_port = free_port()
    bare = start(["--serve-bare", str(bare_port)], bare_port)
    port, server = riskguard_server(f"sqlite:///{directory / 'check.db'}", posture_path)
    check = request("POST", "/v1/check", {"intent": intent("bench-check")})
    const = request("POST", "/const", {"intent": intent("bench-check")})
    try:
        asyncio.run(prime(port))
        rows = []
        bare_runs, check_runs = [], []
        for _ in range(rounds):  # interleaved, so that each check run has a bare run of the same host phase
            asyncio.run(closed_loop(bare_port, lambda: const, clients, total // 10))  # warm-up
            bare_runs.append(measured(bare.pid, closed_loop(bare_port, lambda: const, clients, total)))
            asyncio.run(closed_loop(port, lambda: check, clients, total // 10))
            check_runs.append(measured(server.pid, closed_loop(port, lambda: check, clients, total)))
        ratios = [c.rate / b.rate for b, c in zip(bare_runs, check_runs, strict=True)]
        bare_cpu = statistics.median(r.cpu_us for r in bare_runs)
        check_cpu = statistics.median(r.cpu_us for r in check_runs)
        bare_rate, ratio = statistics.median(r.rate for r in bare_runs), statistics.median(ratios)
        rows.append(f"| bare FastAPI constant, {clients} connections | {bare_rate:,.0f} "
                    f"| 100 % | {statistics.median(r.pct(0.5) for r in bare_runs):.2f} | "
                    f"{statistics.median(r.pct(0.99) for r in bare_runs):.2f} | {bare_cpu:,.0f} |")
        rows.append(f"| /v1/check, {clients} connections | {statistics.median(r.rate for r in check_runs):,.0f} | "
                    f"{ratio:.0%} | {statistics.median(r.pct(0.5) for r in check_runs):.2f} | "
                    f"{statistics.median(r.pct(0.99) for r in check_runs):.2f} | {check_cpu:,.0f} |")
        print(f"/v1/check vs bare per round: {', '.join(f'{r:.0%}' for r in ratios)} (median {ratio:.0%}); "
              f"bare / check server CPU per request: {bare_cpu / check_cpu:.0%}")
        for name, p, process, payload in (("bare FastAPI constant", bare_port, bare, const),
                                          ("/v1/check", port, server, check)):
            run = measured(process.pid, open_loop(p, lambda payload=payload: payload, 500.0, 6.0))
            rows.append(f"| {name} at 500 req/s (open loop, {run.requests} requests) | {run.rate:,.0f} | | "
                        f"{run.pct(0.5):.2f} | {run.pct(0.99):.2f} | {run.cpu_us:,.0f} |")
        return rows
    finally:
        stop(bare)
        stop(server)


def reserve_rows(backend: str, db_url: str, posture_path: str, clients: int, per_client: int) -> list[str]:
    port, server = riskguard_server(db_url, posture_path)
    try:
        asyncio.run(prime(port))
        prefix = uuid.uuid4().hex[:8]
        counter = iter(range(10**9))

        def make() -> bytes:
            return request("POST", "/v1/reserve", {"intent": intent(f"{prefix}-{next(counter)}")})

        asyncio.run(closed_loop(port, make, clients, 200))  # warm-up
        run = measured(server.pid, closed_loop(port, make, clients, clients * per_client))
        return [f"| /v1/reserve on {backend}, {clients} connections ({run.requests} reserves) | {run.rate:,.0f} | | "
                f"{run.pct(0.5):.2f} | {run.pct(0.99):.2f} | {run.cpu_us:,.0f} |"]
    finally:
        stop(server)


def pg_schema_url(base: str) -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"rg_bench_svc_{uuid.uuid4().hex[:8]}"
    parsed = make_url(base)
    with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username,
                         dbname=parsed.database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]
    return name, f"{base}?options=-csearch_path%3D{name}"


def drop_schema(base: str, name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(base)
    with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username,
                         dbname=parsed.database, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3_000, help="requests per throughput run (default 3000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved bare / check rounds (default 7)")
    parser.add_argument("--reserves", type=int, default=400, help="reserves per client (default 400)")
    parser.add_argument("--pg-url", default=os.environ.get("RISKGUARD_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-riskguard", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if args.serve_riskguard:
        port, db_url, posture_path = args.serve_riskguard
        serve_riskguard(int(port), db_url, posture_path)
        return 0
    from riskguard.config.hashing import canonical_json

    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        directory = Path(tmp)
        posture_path = directory / "posture.json"
        posture_path.write_text(canonical_json(bench_posture()))
        rows = check_vs_bare(str(posture_path), directory, args.requests, args.clients, args.rounds)
        rows += reserve_rows("SQLite", f"sqlite:///{directory / 'reserve.db'}", str(posture_path), args.clients,
                             args.reserves)
        if not args.skip_pg:
            name, url = pg_schema_url(args.pg_url)
            try:
                rows += reserve_rows("PostgreSQL", url, str(posture_path), args.clients, args.reserves)
            finally:
                drop_schema(args.pg_url, name)
    print(f"Measured {started:%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    print()
    print("| run | requests/s | vs bare | p50 (ms) | p99 (ms) | server CPU per request (us) |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
