"""The decision service under load: an open-loop generator against a real server process.

    .venv/bin/python benchmarks/bench_service.py                      # 200, 500, 1000 req/s for 30 s each
    .venv/bin/python benchmarks/bench_service.py --rates 500 --duration 10 --json service.json

A server (`kamrules serve rules/ --register <temporary SQLite file>`, one process) is started
on a free loopback port. For each rate a generator runs in a process of its own and sends
``POST /v1/decisions`` for one flat CRM row (examples/accounts.csv, full explanation in the
answer) at fixed arrival times t0 + i/rate: open loop, so a slow server cannot slow the
clock, and each latency is measured from the request's *scheduled* time (a request that
waits for a free connection is late by that wait). Reported per rate: achieved rate,
p50/p99/p99.9 latency, errors, and the CPU seconds per wall second of the server, of its
register writer process (docs/decisions.md, entry 47) and of the generator; with
``--watchdog``, the server's event-loop stalls (``benchmarks/serve_watched.py``). Then a
closed loop (``--saturate-connections`` clients, no pause) gives the saturated throughput
of one server process, next to the library's own rate of explained decisions
(``Engine.decide`` + ``model_dump_json``, one thread) on the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-01"


def flat_rows(path: Path) -> list[dict[str, Any]]:
    from kamrules.portfolio.sources import read_records

    return [r.data for r in read_records(path) if r.data is not None]


def requests_bytes(rows: list[dict[str, Any]], port: int) -> list[bytes]:
    out = []
    for row in rows:
        body = json.dumps(row).encode()
        head = (
            f"POST /v1/decisions?as_of={AS_OF} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append(head + body)
    return out


KEEP_ALIVE = 4.0
"""Seconds a pooled connection may sit idle before the generator drops it. uvicorn closes a
keep-alive connection after 5 idle seconds; a client that reused one at that moment would see
the server hang up on a request it never read, which is the client's race, not a server
error (HTTP clients drop or retry such connections too)."""

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Pool:
    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.size = size
        self.idle: list[tuple[Connection, float]] = []
        self.opened = 0
        self.waiters: asyncio.Queue[Connection] = asyncio.Queue()
        self.failures: dict[str, int] = {}

    async def get(self) -> Connection:
        now = time.monotonic()
        while self.idle:
            conn, since = self.idle.pop()
            if now - since < KEEP_ALIVE:
                return conn
            self.opened -= 1
            conn[1].close()
        if self.opened < self.size:
            self.opened += 1
            try:
                return await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                self.opened -= 1
                raise
        return await self.waiters.get()

    def put(self, conn: Connection) -> None:
        if self.waiters._getters:  # type: ignore[attr-defined]  # someone is waiting: hand over
            self.waiters.put_nowait(conn)
        else:
            self.idle.append((conn, time.monotonic()))

    def failed(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1


async def exchange(pool: Pool, request: bytes) -> int:
    """One request and its answer: the status, or 0 when the connection failed."""
    try:
        reader, writer = await pool.get()
    except OSError as exc:
        pool.failed(f"connect: {exc.strerror or type(exc).__name__}")
        return 0
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        pool.failed(type(exc).__name__)
        pool.opened -= 1
        writer.close()
        return 0
    pool.put((reader, writer))
    if status != 200:
        pool.failed(f"HTTP {status}")
    return status


async def open_loop(port: int, requests: list[bytes], rate: float, duration: float, connections: int) -> dict[str, Any]:
    pool = Pool(port, connections)
    latencies: list[float] = []
    errors = 0
    total = int(rate * duration)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        status = await exchange(pool, requests[i % len(requests)])
        if status != 200:
            errors += 1
        latencies.append(loop.time() - scheduled)

    tasks = []
    for i in range(total):  # create tasks just ahead of their time, so the loop is not flooded
        ahead = start + i / rate - loop.time()
        if ahead > 0.05:
            await asyncio.sleep(ahead - 0.05)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    return {"sent": total, "elapsed": elapsed, "latencies": latencies, "errors": errors, "failures": pool.failures}


async def closed_loop(port: int, requests: list[bytes], clients: int, duration: float) -> dict[str, Any]:
    pool = Pool(port, clients)
    done = 0
    errors = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + duration

    async def client(k: int) -> None:
        nonlocal done, errors
        i = k
        while loop.time() < end:
            if await exchange(pool, requests[i % len(requests)]) != 200:
                errors += 1
            done += 1
            i += clients

    started = loop.time()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return {"done": done, "errors": errors, "elapsed": loop.time() - started, "failures": pool.failures}


def generator(kind: str, port: int, accounts: str, rate: float, duration: float, connections: int, out: Any) -> None:
    """Runs in its own process; sends its figures back through ``out``."""
    requests = requests_bytes(flat_rows(Path(accounts)), port)
    before = resource.getrusage(resource.RUSAGE_SELF)
    if kind == "open":
        result = asyncio.run(open_loop(port, requests, rate, duration, connections))
    else:
        result = asyncio.run(closed_loop(port, requests, connections, duration))
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out.send(result)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """CPU time of the server's child processes (its register writer), alive ones only."""
    total = 0.0
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            with contextlib.suppress(OSError):  # exited meanwhile
                total += cpu_seconds(int(child))
    return total


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class BenchError(Exception):
    """The benchmark cannot go on; the message says why (and the server's log is printed)."""


def run_generator(
    kind: str, port: int, args: argparse.Namespace, rate: float, duration: float, connections: int
) -> dict[str, Any]:
    receive, send = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.get_context("spawn").Process(
        target=generator, args=(kind, port, str(args.accounts), rate, duration, connections, send)
    )
    process.start()
    send.close()  # only the child writes: a child that dies closes the pipe, and recv() says so
    deadline = time.monotonic() + duration + 120
    while not receive.poll(1.0):
        if not process.is_alive() or time.monotonic() > deadline:
            process.kill()
            raise BenchError(f"the {kind}-loop generator stopped without a result (exit code {process.exitcode})")
    try:
        result: dict[str, Any] = receive.recv()
    except EOFError:
        raise BenchError(f"the {kind}-loop generator stopped without a result (exit code {process.exitcode})") from None
    process.join(60)
    return result


def library_rate(args: argparse.Namespace, seconds: float = 5.0) -> dict[str, float]:
    """The library's own explained decisions, one thread, on the same rows: the path the
    service and `evaluate --format jsonl` take (validate, evaluate, the decision's JSON bytes)."""
    import kamrules

    engine = kamrules.Engine(kamrules.load_rulebook(args.rules))
    rows = flat_rows(args.accounts)
    as_of = dt.date.fromisoformat(AS_OF)

    def one(row: dict[str, Any]) -> str:
        return str(engine.evaluate(engine.validate(row), as_of).decision_json())

    for row in rows[:50]:
        one(row)
    done, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for row in rows:
            one(row)
        done += len(rows)
    return {
        "decisions_per_second": done / (time.perf_counter() - started),
        "cpu_ms_per_decision": (time.process_time() - cpu) / done * 1000,
    }


def loop_stalls(path: Path | None, before: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The watchdog's counts (``--watchdog``), or their growth since ``before``."""
    if path is None:
        return None
    time.sleep(0.6)  # the watchdog writes its counts twice a second
    counts: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if before is None:
        return counts
    grown = {key: value - before[key] for key, value in counts.items() if key != "max_ms"}
    grown["max_ms"] = counts["max_ms"]
    return grown


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_ready(server: subprocess.Popen[bytes], port: int, seconds: float = 60.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"the server exited with status {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise BenchError(f"the server did not answer /readyz within {seconds:g} s")


def server_log(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no server log)"
    return "\n".join(text[-lines:]) or "(the server log is empty)"


def measure(server: subprocess.Popen[bytes], port: int, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    run_generator("closed", port, args, 0, 3, 4)  # warm-up
    print(
        f"server pid {server.pid}, port {port}, register {figures['register'] or 'off'}; "
        f"load average {figures['load_before'][0]:.2f}"
    )
    print(
        f"{'rate':>6} {'achieved':>9} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8} {'errors':>6} "
        f"{'server CPU':>10} {'writer CPU':>10} {'gen CPU':>8}"
    )
    for rate in args.rates:
        stalls_before = loop_stalls(args.watchdog_file)
        before, writer_before = cpu_seconds(server.pid), children_cpu_seconds(server.pid)
        result = run_generator("open", port, args, rate, args.duration, args.connections)
        server_cpu = (cpu_seconds(server.pid) - before) / result["elapsed"]
        writer_cpu = (children_cpu_seconds(server.pid) - writer_before) / result["elapsed"]
        stalls = loop_stalls(args.watchdog_file, stalls_before)
        lat = [x * 1000 for x in result["latencies"]]
        if not lat:
            raise BenchError(f"no request completed at {rate:g} req/s")
        row = {
            "rate": rate,
            "achieved": len(lat) / result["elapsed"],
            "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99),
            "p999_ms": percentile(lat, 99.9),
            "max_ms": max(lat),
            "mean_ms": statistics.fmean(lat),
            "errors": result["errors"],
            "failures": result["failures"],
            "server_cpu": server_cpu,
            "server_cpu_ms_per_request": server_cpu * result["elapsed"] / len(lat) * 1000,
            "writer_cpu": writer_cpu,
            "generator_cpu": result["cpu"] / result["elapsed"],
            "loop_stalls": stalls,
        }
        figures["rates"].append(row)
        print(
            f"{rate:>6.0f} {row['achieved']:>9.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['p999_ms']:>9.2f} {row['max_ms']:>8.1f} {row['errors']:>6} {server_cpu:>10.2f} {writer_cpu:>10.2f} "
            f"{row['generator_cpu']:>8.2f}" + (f"  {result['failures']}" if result["failures"] else "")
        )
        if stalls is not None:
            print(
                "       event-loop stalls: "
                + ", ".join(f"{stalls[f'over_{limit}ms']} > {limit} ms" for limit in (2, 5, 10, 20))
                + f", longest since start {stalls['max_ms']:.1f} ms, {stalls['late_ms_total'] / 1000:.2f} s late in all"
                + f" ({stalls['ticks']:,} ticks)"
            )
            print(
                f"       the loop thread: {stalls['running_ms_total'] / 1000:.2f} s running, "
                f"{stalls['runqueue_ms_total'] / 1000:.2f} s waiting for a CPU, "
                f"{stalls['blocked_ms_total'] / 1000:.2f} s blocked beyond its sleeps (the GIL, locks); "
                f"{stalls['blocked_over_2ms']} blocks > 2 ms"
            )
    before, writer_before = cpu_seconds(server.pid), children_cpu_seconds(server.pid)
    saturated = run_generator("closed", port, args, 0, args.saturate_seconds, args.saturate_connections)
    if not saturated["done"]:
        raise BenchError("no request completed in the closed loop")
    cpu = cpu_seconds(server.pid) - before
    writer_cpu = children_cpu_seconds(server.pid) - writer_before
    figures["saturated"] = {
        "requests_per_second": saturated["done"] / saturated["elapsed"],
        "errors": saturated["errors"],
        "failures": saturated["failures"],
        "server_cpu": cpu / saturated["elapsed"],
        "server_cpu_ms_per_request": cpu / saturated["done"] * 1000,
        "writer_cpu": writer_cpu / saturated["elapsed"],
        "writer_cpu_ms_per_request": writer_cpu / saturated["done"] * 1000,
        "connections": args.saturate_connections,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    parser.add_argument("--accounts", type=Path, default=ROOT / "examples" / "accounts.csv")
    parser.add_argument("--rates", default="200,500,1000", help="requests per second, comma-separated")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per rate")
    parser.add_argument("--connections", type=int, default=64, help="open-loop connection pool size")
    parser.add_argument("--saturate-connections", type=int, default=16)
    parser.add_argument("--saturate-seconds", type=float, default=15.0)
    parser.add_argument("--no-register", action="store_true", help="serve without a register")
    parser.add_argument("--serve-option", action="append", default=[], help="an extra `kamrules serve` option")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON")
    parser.add_argument(
        "--watchdog",
        action="store_true",
        help="count the server's event-loop stalls per rate (benchmarks/serve_watched.py; adds ~1,000 wake-ups/s)",
    )
    args = parser.parse_args()
    try:
        args.rates = [float(r) for r in args.rates.split(",")]
    except ValueError:
        parser.error(f"--rates takes numbers separated by commas, not '{args.rates}'")
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        print(f"the service extra is not installed ({exc.name} is missing): pip install -e '.[service]'")
        return 2

    work = Path(tempfile.mkdtemp(prefix="kamrules-bench-"))
    port = free_port()
    args.watchdog_file = work / "loop-stalls.json" if args.watchdog else None
    launcher = (
        [str(ROOT / "benchmarks" / "serve_watched.py"), str(args.watchdog_file)]
        if args.watchdog_file is not None
        else ["-c", "from kamrules.cli.main import run; run()"]
    )
    command = [
        sys.executable,
        *launcher,
        "serve",
        str(args.rules),
        "--port",
        str(port),
        "--no-watch",
        *[part for option in args.serve_option for part in option.split()],
    ]
    if not args.no_register:
        command += ["--register", str(work / "register.db")]
    log_path = work / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "KAMRULES_TOKENS"}
    figures: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "register": None if args.no_register else "sqlite",
        "rates": [],
    }
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_ready(server, port)
        measure(server, port, args, figures)
    except BenchError as exc:
        print(f"benchmark stopped: {exc}\n--- server log ({log_path}) ---\n{server_log(log_path)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
    library = library_rate(args)
    figures["library"] = library
    figures["load_after"] = os.getloadavg()
    saturated = figures["saturated"]
    throughput = saturated["requests_per_second"]
    print(
        f"saturated: {throughput:,.0f} requests/s ({saturated['errors']} errors, server CPU "
        f"{saturated['server_cpu']:.2f}, {saturated['server_cpu_ms_per_request']:.2f} ms CPU per request; "
        f"register writer process {saturated['writer_cpu_ms_per_request']:.2f} ms CPU per request)\n"
        f"library alone: {library['decisions_per_second']:,.0f} explained decisions/s "
        f"({library['cpu_ms_per_decision']:.2f} ms CPU each, one thread)\n"
        f"HTTP + register cost: {library['decisions_per_second'] / throughput:.1f}x in throughput, "
        f"{saturated['server_cpu_ms_per_request'] / library['cpu_ms_per_decision']:.1f}x in CPU per decision"
    )
    print(f"load average after: {figures['load_after'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
